//! Guest memory, bounds-checked: every bad pointer is `EFAULT`.

use super::*;

/// Bounds-checked little-endian access to guest memory; errors are `EFAULT`.
pub(super) struct Mem<'a>(pub(super) &'a mut [u8]);

impl Mem<'_> {
    pub(super) fn slice(&self, ptr: u32, len: u32) -> Result<&[u8], i32> {
        let start = ptr as usize;
        let end = start.checked_add(len as usize).ok_or(errno::FAULT)?;
        self.0.get(start..end).ok_or(errno::FAULT)
    }

    pub(super) fn slice_mut(&mut self, ptr: u32, len: u32) -> Result<&mut [u8], i32> {
        let start = ptr as usize;
        let end = start.checked_add(len as usize).ok_or(errno::FAULT)?;
        self.0.get_mut(start..end).ok_or(errno::FAULT)
    }

    pub(super) fn read_u32(&self, ptr: u32) -> Result<u32, i32> {
        let bytes = self.slice(ptr, 4)?;
        Ok(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    pub(super) fn read_u64(&self, ptr: u32) -> Result<u64, i32> {
        let mut bytes = [0; 8];
        bytes.copy_from_slice(self.slice(ptr, 8)?);
        Ok(u64::from_le_bytes(bytes))
    }

    pub(super) fn write(&mut self, ptr: u32, bytes: &[u8]) -> Result<(), i32> {
        self.slice_mut(ptr, bytes.len() as u32)?
            .copy_from_slice(bytes);
        Ok(())
    }

    pub(super) fn write_u32(&mut self, ptr: u32, value: u32) -> Result<(), i32> {
        self.write(ptr, &value.to_le_bytes())
    }

    pub(super) fn write_u64(&mut self, ptr: u32, value: u64) -> Result<(), i32> {
        self.write(ptr, &value.to_le_bytes())
    }

    /// Checks an iovec array and every buffer it names; returns the total length.
    /// More than `IOV_MAX` (1024) vectors is `EINVAL`. The total is a `u64`: the buffers
    /// may overlap, so 1024 of them can name far more bytes than a 32-bit `usize` holds.
    pub(super) fn check_iovecs(&self, iovs: u32, iovs_len: u32) -> Result<u64, i32> {
        if iovs_len > 1024 {
            return Err(errno::INVAL);
        }
        self.slice(iovs, iovs_len * 8)?;
        let mut total = 0u64;
        for i in 0..iovs_len {
            let (ptr, len) = self.iovec(iovs, i)?;
            self.slice(ptr, len)?;
            total += u64::from(len);
        }
        Ok(total)
    }

    /// The `(ptr, len)` of iovec `i`.
    pub(super) fn iovec(&self, iovs: u32, i: u32) -> Result<(u32, u32), i32> {
        let at = offset(iovs, i, 8)?;
        Ok((self.read_u32(at)?, self.read_u32(offset(at, 1, 4)?)?))
    }
}

/// The guest address `base + i * size`; `EFAULT` past the 32-bit address space.
pub(super) fn offset(base: u32, i: u32, size: u32) -> Result<u32, i32> {
    i.checked_mul(size)
        .and_then(|delta| base.checked_add(delta))
        .ok_or(errno::FAULT)
}
