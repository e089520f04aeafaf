//! Value encoding for stored records: length-prefixed fields, little-endian.

use crate::{Error, Properties, Result};

#[derive(Default)]
pub(super) struct Writer(Vec<u8>);

impl Writer {
    pub(super) fn u64(mut self, n: u64) -> Self {
        self.0.extend_from_slice(&n.to_le_bytes());
        self
    }

    pub(super) fn bytes(self, b: &[u8]) -> Self {
        let mut w = self.u64(b.len() as u64);
        w.0.extend_from_slice(b);
        w
    }

    pub(super) fn str(self, s: &str) -> Self {
        self.bytes(s.as_bytes())
    }

    pub(super) fn props(self, props: &Properties) -> Self {
        props
            .iter()
            .fold(self.u64(props.len() as u64), |w, (k, v)| w.str(k).str(v))
    }

    pub(super) fn finish(self) -> Vec<u8> {
        self.0
    }
}

pub(super) struct Reader<'a> {
    rest: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub(super) fn new(bytes: &'a [u8], what: &'static str) -> Self {
        Self { rest: bytes, what }
    }

    fn corrupt(&self, detail: &str) -> Error {
        Error::Corrupt {
            what: self.what,
            detail: detail.to_owned(),
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.rest.len() {
            return Err(self.corrupt("record ends early"));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    pub(super) fn u64(&mut self) -> Result<u64> {
        let b = self.take(8)?;
        Ok(u64::from_le_bytes(b.try_into().expect("took 8 bytes")))
    }

    pub(super) fn bytes(&mut self) -> Result<Vec<u8>> {
        let len = self.u64()?;
        let len = usize::try_from(len).map_err(|_| self.corrupt("length overflows"))?;
        Ok(self.take(len)?.to_vec())
    }

    pub(super) fn str(&mut self) -> Result<String> {
        String::from_utf8(self.bytes()?).map_err(|_| self.corrupt("string is not UTF-8"))
    }

    pub(super) fn props(&mut self) -> Result<Properties> {
        (0..self.u64()?)
            .map(|_| Ok((self.str()?, self.str()?)))
            .collect()
    }

    /// Fails unless every byte was read.
    pub(super) fn end(self) -> Result<()> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(self.corrupt("trailing bytes"))
        }
    }
}
