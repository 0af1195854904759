//! The linker entries: every `wasi_snapshot_preview1` function, implemented or
//! answering the error the specification names.

use super::*;

/// Links every `wasi_snapshot_preview1` function into `linker`.
pub(crate) fn link(linker: &mut Linker<WasiCtx>) -> Result<(), wasmi::errors::LinkerError> {
    let m = WASI_MODULE;
    linker.func_wrap(m, "args_get", |mut c: Ctx<'_>, argv: i32, buf: i32| {
        with_mem(&mut c, |mem, ctx| {
            write_strings(mem, &ctx.args, argv as u32, buf as u32)
        })
    })?;
    linker.func_wrap(
        m,
        "args_sizes_get",
        |mut c: Ctx<'_>, count: i32, size: i32| {
            with_mem(&mut c, |mem, ctx| {
                write_sizes(mem, &ctx.args, count as u32, size as u32)
            })
        },
    )?;
    linker.func_wrap(m, "environ_get", |mut c: Ctx<'_>, env: i32, buf: i32| {
        with_mem(&mut c, |mem, ctx| {
            write_strings(mem, &ctx.env, env as u32, buf as u32)
        })
    })?;
    linker.func_wrap(
        m,
        "environ_sizes_get",
        |mut c: Ctx<'_>, count: i32, size: i32| {
            with_mem(&mut c, |mem, ctx| {
                write_sizes(mem, &ctx.env, count as u32, size as u32)
            })
        },
    )?;
    linker.func_wrap(m, "clock_res_get", clock_res_get)?;
    linker.func_wrap(m, "clock_time_get", clock_time_get)?;
    linker.func_wrap(m, "random_get", |mut c: Ctx<'_>, buf: i32, len: i32| {
        let errno = with_mem(&mut c, |mem, ctx| {
            ctx.rng.fill_bytes(mem.slice_mut(buf as u32, len as u32)?);
            Ok(())
        });
        if matches!(errno, Ok(errno::SUCCESS)) {
            charge(&mut c, u64::from(len as u32) * fuel::FUEL_PER_RANDOM_BYTE);
        }
        errno
    })?;
    linker.func_wrap(m, "sched_yield", |_: Ctx<'_>| {
        Ok::<i32, Error>(errno::SUCCESS)
    })?;
    linker.func_wrap(
        m,
        "proc_exit",
        |_: Ctx<'_>, code: i32| -> Result<(), Error> { Err(Error::i32_exit(code)) },
    )?;
    linker.func_wrap(m, "proc_raise", |_: Ctx<'_>, signal: i32| -> Ret {
        Err(Error::host(Stop::Fatal(Fault::Signal(signal))))
    })?;
    linker.func_wrap(m, "poll_oneoff", poll_oneoff)?;
    linker.func_wrap(m, "fd_read", fd_read)?;
    linker.func_wrap(m, "fd_write", fd_write)?;
    linker.func_wrap(m, "fd_fdstat_get", fd_fdstat_get)?;
    linker.func_wrap(m, "fd_filestat_get", fd_filestat_get)?;
    linker.func_wrap(m, "fd_close", |mut c: Ctx<'_>, fd: i32| -> Ret {
        if !is_stdio(c.data(), fd) {
            return Ok(errno::BADF);
        }
        c.data_mut().closed[fd as usize] = true;
        Ok(errno::SUCCESS)
    })?;
    // No preopened directories: libc's preopen scan stops at the first EBADF.
    linker.func_wrap(m, "fd_prestat_get", |_: Ctx<'_>, _fd: i32, _buf: i32| {
        Ok::<i32, Error>(errno::BADF)
    })?;
    linker.func_wrap(
        m,
        "fd_prestat_dir_name",
        |_: Ctx<'_>, _fd: i32, _p: i32, _l: i32| Ok::<i32, Error>(errno::BADF),
    )?;
    // Seeking and positioned I/O on a pipe.
    linker.func_wrap(
        m,
        "fd_seek",
        |c: Ctx<'_>, fd: i32, _o: i64, _w: i32, _r: i32| stdio_or_badf(&c, fd, errno::SPIPE),
    )?;
    linker.func_wrap(m, "fd_tell", |c: Ctx<'_>, fd: i32, _r: i32| {
        stdio_or_badf(&c, fd, errno::SPIPE)
    })?;
    linker.func_wrap(
        m,
        "fd_pread",
        |c: Ctx<'_>, fd: i32, _i: i32, _l: i32, _o: i64, _r: i32| {
            stdio_or_badf(&c, fd, errno::SPIPE)
        },
    )?;
    linker.func_wrap(
        m,
        "fd_pwrite",
        |c: Ctx<'_>, fd: i32, _i: i32, _l: i32, _o: i64, _r: i32| {
            stdio_or_badf(&c, fd, errno::SPIPE)
        },
    )?;
    // Descriptor operations stdio does not support.
    linker.func_wrap(
        m,
        "fd_advise",
        |c: Ctx<'_>, fd: i32, _o: i64, _l: i64, _a: i32| stdio_or_badf(&c, fd, errno::SPIPE),
    )?;
    linker.func_wrap(m, "fd_allocate", |c: Ctx<'_>, fd: i32, _o: i64, _l: i64| {
        stdio_or_badf(&c, fd, errno::SPIPE)
    })?;
    linker.func_wrap(m, "fd_datasync", |c: Ctx<'_>, fd: i32| {
        stdio_or_badf(&c, fd, errno::INVAL)
    })?;
    linker.func_wrap(m, "fd_sync", |c: Ctx<'_>, fd: i32| {
        stdio_or_badf(&c, fd, errno::INVAL)
    })?;
    linker.func_wrap(m, "fd_fdstat_set_flags", |c: Ctx<'_>, fd: i32, _f: i32| {
        stdio_or_badf(&c, fd, errno::NOSYS)
    })?;
    linker.func_wrap(
        m,
        "fd_fdstat_set_rights",
        |c: Ctx<'_>, fd: i32, _b: i64, _i: i64| stdio_or_badf(&c, fd, errno::NOSYS),
    )?;
    linker.func_wrap(m, "fd_filestat_set_size", |c: Ctx<'_>, fd: i32, _s: i64| {
        stdio_or_badf(&c, fd, errno::INVAL)
    })?;
    linker.func_wrap(
        m,
        "fd_filestat_set_times",
        |c: Ctx<'_>, fd: i32, _a: i64, _m: i64, _f: i32| stdio_or_badf(&c, fd, errno::NOSYS),
    )?;
    linker.func_wrap(
        m,
        "fd_readdir",
        |c: Ctx<'_>, fd: i32, _b: i32, _l: i32, _k: i64, _u: i32| {
            stdio_or_badf(&c, fd, errno::NOTDIR)
        },
    )?;
    linker.func_wrap(m, "fd_renumber", |c: Ctx<'_>, fd: i32, to: i32| {
        Ok::<i32, Error>(if is_stdio(c.data(), fd) && is_stdio(c.data(), to) {
            errno::NOSYS
        } else {
            errno::BADF
        })
    })?;
    // Paths: there is no file system; stdio fds are not directories.
    linker.func_wrap(
        m,
        "path_create_directory",
        |c: Ctx<'_>, fd: i32, _p: i32, _l: i32| stdio_or_badf(&c, fd, errno::NOTDIR),
    )?;
    linker.func_wrap(
        m,
        "path_filestat_get",
        |c: Ctx<'_>, fd: i32, _f: i32, _p: i32, _l: i32, _b: i32| {
            stdio_or_badf(&c, fd, errno::NOTDIR)
        },
    )?;
    linker.func_wrap(
        m,
        "path_filestat_set_times",
        |c: Ctx<'_>, fd: i32, _f: i32, _p: i32, _l: i32, _a: i64, _m: i64, _ff: i32| {
            stdio_or_badf(&c, fd, errno::NOTDIR)
        },
    )?;
    linker.func_wrap(
        m,
        "path_link",
        |c: Ctx<'_>, fd: i32, _f: i32, _p: i32, _l: i32, _nfd: i32, _np: i32, _nl: i32| {
            stdio_or_badf(&c, fd, errno::NOTDIR)
        },
    )?;
    linker.func_wrap(
        m,
        "path_open",
        |c: Ctx<'_>,
         fd: i32,
         _df: i32,
         _p: i32,
         _l: i32,
         _of: i32,
         _rb: i64,
         _ri: i64,
         _ff: i32,
         _r: i32| { stdio_or_badf(&c, fd, errno::NOTDIR) },
    )?;
    linker.func_wrap(
        m,
        "path_readlink",
        |c: Ctx<'_>, fd: i32, _p: i32, _l: i32, _b: i32, _bl: i32, _r: i32| {
            stdio_or_badf(&c, fd, errno::NOTDIR)
        },
    )?;
    linker.func_wrap(
        m,
        "path_remove_directory",
        |c: Ctx<'_>, fd: i32, _p: i32, _l: i32| stdio_or_badf(&c, fd, errno::NOTDIR),
    )?;
    linker.func_wrap(
        m,
        "path_rename",
        |c: Ctx<'_>, fd: i32, _p: i32, _l: i32, _nfd: i32, _np: i32, _nl: i32| {
            stdio_or_badf(&c, fd, errno::NOTDIR)
        },
    )?;
    linker.func_wrap(
        m,
        "path_symlink",
        |c: Ctx<'_>, _op: i32, _ol: i32, fd: i32, _np: i32, _nl: i32| {
            stdio_or_badf(&c, fd, errno::NOTDIR)
        },
    )?;
    linker.func_wrap(
        m,
        "path_unlink_file",
        |c: Ctx<'_>, fd: i32, _p: i32, _l: i32| stdio_or_badf(&c, fd, errno::NOTDIR),
    )?;
    // Sockets: none.
    linker.func_wrap(m, "sock_accept", |c: Ctx<'_>, fd: i32, _f: i32, _r: i32| {
        stdio_or_badf(&c, fd, errno::NOTSOCK)
    })?;
    linker.func_wrap(
        m,
        "sock_recv",
        |c: Ctx<'_>, fd: i32, _d: i32, _l: i32, _f: i32, _r: i32, _rf: i32| {
            stdio_or_badf(&c, fd, errno::NOTSOCK)
        },
    )?;
    linker.func_wrap(
        m,
        "sock_send",
        |c: Ctx<'_>, fd: i32, _d: i32, _l: i32, _f: i32, _r: i32| {
            stdio_or_badf(&c, fd, errno::NOTSOCK)
        },
    )?;
    linker.func_wrap(m, "sock_shutdown", |c: Ctx<'_>, fd: i32, _h: i32| {
        stdio_or_badf(&c, fd, errno::NOTSOCK)
    })?;
    Ok(())
}

/// Every `wasi_snapshot_preview1` function name; the runtime links them all.
pub const WASI_FUNCTIONS: [&str; 46] = [
    "args_get",
    "args_sizes_get",
    "environ_get",
    "environ_sizes_get",
    "clock_res_get",
    "clock_time_get",
    "fd_advise",
    "fd_allocate",
    "fd_close",
    "fd_datasync",
    "fd_fdstat_get",
    "fd_fdstat_set_flags",
    "fd_fdstat_set_rights",
    "fd_filestat_get",
    "fd_filestat_set_size",
    "fd_filestat_set_times",
    "fd_pread",
    "fd_prestat_get",
    "fd_prestat_dir_name",
    "fd_pwrite",
    "fd_read",
    "fd_readdir",
    "fd_renumber",
    "fd_seek",
    "fd_sync",
    "fd_tell",
    "fd_write",
    "path_create_directory",
    "path_filestat_get",
    "path_filestat_set_times",
    "path_link",
    "path_open",
    "path_readlink",
    "path_remove_directory",
    "path_rename",
    "path_symlink",
    "path_unlink_file",
    "poll_oneoff",
    "proc_exit",
    "proc_raise",
    "sched_yield",
    "random_get",
    "sock_accept",
    "sock_recv",
    "sock_send",
    "sock_shutdown",
];
