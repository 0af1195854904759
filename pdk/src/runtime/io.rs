//! Reading stdin and writing stdout/stderr.
//!
//! On `wasm32-wasip1` this calls the WASI `fd_read`/`fd_write` imports directly: one
//! import call per read or write, no std buffering. Elsewhere (native builds, tests) it
//! goes through `std::io`.

/// Where the runtime reads its input and writes its output (an in-memory one in tests).
pub(crate) trait Io {
    /// Reads into `buf`, waiting for input; returns how many bytes were read, 0 at the end
    /// of input or on an error.
    fn read(&mut self, buf: &mut [u8]) -> usize;

    /// Writes all of `bytes` to stdout; false when that failed (the host is gone).
    fn write(&mut self, bytes: &[u8]) -> bool;
}

/// The process's own stdin and stdout.
pub(crate) struct Stdio;

#[cfg(all(target_arch = "wasm32", target_os = "wasi"))]
mod sys {
    /// A WASI `iovec`/`ciovec`.
    #[repr(C)]
    struct Iovec {
        buf: *const u8,
        buf_len: usize,
    }

    #[link(wasm_import_module = "wasi_snapshot_preview1")]
    unsafe extern "C" {
        fn fd_read(fd: i32, iovs: *const Iovec, iovs_len: usize, nread: *mut usize) -> i32;
        fn fd_write(fd: i32, iovs: *const Iovec, iovs_len: usize, nwritten: *mut usize) -> i32;
    }

    /// `EAGAIN` and `EINTR`: try again.
    fn retry(errno: i32) -> bool {
        errno == 6 || errno == 27
    }

    pub(crate) fn read(fd: i32, buf: &mut [u8]) -> usize {
        loop {
            let iov = Iovec {
                buf: buf.as_mut_ptr(),
                buf_len: buf.len(),
            };
            let mut nread = 0;
            // SAFETY: `iov` describes `buf`, which is writable for its whole length, and
            // `nread` is a valid place for the count.
            let errno = unsafe { fd_read(fd, &iov, 1, &mut nread) };
            match errno {
                0 => return nread.min(buf.len()),
                e if retry(e) => {}
                _ => return 0,
            }
        }
    }

    pub(crate) fn write(fd: i32, mut bytes: &[u8]) -> bool {
        while !bytes.is_empty() {
            let iov = Iovec {
                buf: bytes.as_ptr(),
                buf_len: bytes.len(),
            };
            let mut written = 0;
            // SAFETY: `iov` describes `bytes`, readable for its whole length, and
            // `written` is a valid place for the count.
            let errno = unsafe { fd_write(fd, &iov, 1, &mut written) };
            match errno {
                0 if written > 0 => bytes = &bytes[written.min(bytes.len())..],
                e if e != 0 && retry(e) => {}
                _ => return false,
            }
        }
        true
    }
}

#[cfg(not(all(target_arch = "wasm32", target_os = "wasi")))]
mod sys {
    use std::io::{ErrorKind, Read, Write};

    pub(crate) fn read(_fd: i32, buf: &mut [u8]) -> usize {
        let mut stdin = std::io::stdin().lock();
        loop {
            match stdin.read(buf) {
                Ok(n) => return n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return 0,
            }
        }
    }

    pub(crate) fn write(fd: i32, bytes: &[u8]) -> bool {
        if fd == 2 {
            let mut stderr = std::io::stderr().lock();
            stderr.write_all(bytes).is_ok()
        } else {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(bytes)
                .and_then(|()| stdout.flush())
                .is_ok()
        }
    }
}

impl Io for Stdio {
    fn read(&mut self, buf: &mut [u8]) -> usize {
        sys::read(0, buf)
    }

    fn write(&mut self, bytes: &[u8]) -> bool {
        sys::write(1, bytes)
    }
}

/// Writes `bytes` to stderr in one piece (as far as the host allows).
pub(crate) fn write_stderr(bytes: &[u8]) {
    sys::write(2, bytes);
}
