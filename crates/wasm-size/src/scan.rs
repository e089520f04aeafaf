//! One pass over a `.wasm` read from a stream, never held whole: each
//! section is buffered only while it is handed out, and the code section
//! a batch of bodies (about a megabyte) at a time. Attribution
//! (`size::attribution`), the call graph (`size::callgraph`) and the
//! section sizes are collected in that pass by [`Sink`]s, each keeping
//! only what it uses.
//!
//! The code section is read last. It precedes the data section in the
//! file, but the call graph reads each constant in a body against the data
//! segments' addresses; so the first pass skips the code section (a seek)
//! and a second read goes back for it. Keeping every constant of every
//! body until the data is known would cost more than the bodies' own
//! bytes: a 33 MB module holds millions of them.

use std::collections::BTreeMap;
use std::io::{BufReader, Read, Seek, SeekFrom};

use anyhow::{anyhow, bail, Context, Result};
use wasmparser::{BinaryReader, Chunk, FunctionBody, Parser, Payload};

use crate::wasm::section_name;

/// What one part of the analysis takes from the pass.
pub trait Sink {
    /// Every payload but the code section's bodies, in file order.
    fn payload(&mut self, payload: &Payload) -> Result<()>;
    /// Each function body, in order, after every other payload.
    fn body(&mut self, body: &FunctionBody) -> Result<()>;
    /// Consecutive bodies, in order: the pass hands them out about a
    /// megabyte at a time, so a sink with much work per body can spread a
    /// batch over threads. By default, [`Sink::body`] on each.
    fn bodies(&mut self, bodies: &[FunctionBody]) -> Result<()> {
        bodies.iter().try_for_each(|b| self.body(b))
    }
}

impl<A: Sink, B: Sink> Sink for (A, B) {
    fn payload(&mut self, payload: &Payload) -> Result<()> {
        self.0.payload(payload)?;
        self.1.payload(payload)
    }
    fn body(&mut self, body: &FunctionBody) -> Result<()> {
        self.0.body(body)?;
        self.1.body(body)
    }
    fn bodies(&mut self, bodies: &[FunctionBody]) -> Result<()> {
        self.0.bodies(bodies)?;
        self.1.bodies(bodies)
    }
}

impl<S: Sink> Sink for Option<S> {
    fn payload(&mut self, payload: &Payload) -> Result<()> {
        self.as_mut().map_or(Ok(()), |s| s.payload(payload))
    }
    fn body(&mut self, body: &FunctionBody) -> Result<()> {
        self.as_mut().map_or(Ok(()), |s| s.body(body))
    }
    fn bodies(&mut self, bodies: &[FunctionBody]) -> Result<()> {
        self.as_mut().map_or(Ok(()), |s| s.bodies(bodies))
    }
}

/// Bytes of each section's contents, by section name (custom sections by
/// their own name), as [`crate::wasm::wasm_sections`] gives them.
#[derive(Debug, Default)]
pub struct Sections(pub BTreeMap<String, u64>);

impl Sink for Sections {
    fn payload(&mut self, payload: &Payload) -> Result<()> {
        let name = match payload {
            Payload::CustomSection(c) => c.name().to_owned(),
            other => match other.as_section() {
                Some((id, _)) => section_name(id).to_owned(),
                None => return Ok(()),
            },
        };
        if let Some((_, range)) = payload.as_section() {
            *self.0.entry(name).or_insert(0) += range.len() as u64;
        }
        Ok(())
    }
    fn body(&mut self, _: &FunctionBody) -> Result<()> {
        Ok(())
    }
}

/// More than this per read: a section's declared size is only a claim.
pub(crate) const READ_AT_MOST: u64 = 1 << 20;
/// A buffer this big is given back once its section is done.
const KEEP_AT_MOST: usize = 1 << 20;

/// Reads the module in `reader`, from where it stands, into `sink`. Any
/// input gives `Ok` or an `Err` saying why it is not a readable module.
pub fn read<R: Read + Seek>(reader: R, sink: &mut impl Sink) -> Result<()> {
    read_in_batches(reader, sink, BATCH)
}

/// Bodies are handed out in batches of about this many bytes.
const BATCH: usize = 1 << 20;

/// [`read`], handing out bodies in batches of about `batch` bytes (one
/// body when `batch` is 0).
pub(crate) fn read_in_batches<R: Read + Seek>(
    reader: R,
    sink: &mut impl Sink,
    batch: usize,
) -> Result<()> {
    let mut input = BufReader::with_capacity(64 << 10, reader);
    let base = input.stream_position()?;
    let Some(code) = payloads(&mut input, sink)? else {
        return Ok(());
    };
    input.seek(SeekFrom::Start(base + code.first))?;
    bodies(&mut input, &code, sink, batch)
}

/// Where the code section's bodies are: the offset of the first one (from
/// the module's start), how many, and their bytes with size prefixes.
struct Code {
    first: u64,
    count: u32,
    size: u32,
}

/// The first pass: every payload but the bodies, the code section skipped.
fn payloads<R: Read + Seek>(
    input: &mut BufReader<R>,
    sink: &mut impl Sink,
) -> Result<Option<Code>> {
    let mut buf: Vec<u8> = Vec::new();
    let mut eof = false;
    let mut parser = Parser::new(0);
    let mut code: Option<Code> = None;
    loop {
        let (consumed, skip, end) = match parser.parse(&buf, eof)? {
            Chunk::NeedMoreData(hint) => {
                // Appended as read, never zero-filled first: the sections
                // read here are megabytes.
                let want = hint.clamp(1, READ_AT_MOST);
                let n = input.by_ref().take(want).read_to_end(&mut buf)?;
                eof = n == 0;
                continue;
            }
            Chunk::Parsed { consumed, payload } => {
                let mut skip = 0;
                if let Payload::CodeSectionStart { count, range, size } = &payload {
                    let first = (range.end as u64)
                        .checked_sub(u64::from(*size))
                        .ok_or_else(|| anyhow!("code section out of range"))?;
                    code = Some(Code {
                        first,
                        count: *count,
                        size: *size,
                    });
                    skip = *size as usize;
                }
                let end = matches!(payload, Payload::End(_));
                sink.payload(&payload)?;
                (consumed, skip, end)
            }
        };
        buf.drain(..consumed);
        if skip > 0 {
            parser.skip_section();
            if skip <= buf.len() {
                buf.drain(..skip);
            } else {
                let beyond = (skip - buf.len()) as i64;
                buf.clear();
                input.seek_relative(beyond)?;
            }
        }
        if buf.capacity() > KEEP_AT_MOST && buf.len() < KEEP_AT_MOST / 2 {
            buf.shrink_to(KEEP_AT_MOST / 2);
        }
        if end {
            return Ok(code);
        }
    }
}

/// The second pass: each body of the code section, `input` standing at
/// the first, in batches of about `batch` bytes.
fn bodies(input: &mut impl Read, code: &Code, sink: &mut impl Sink, batch: usize) -> Result<()> {
    let mut left = u64::from(code.size);
    let mut at = code.first;
    // The batch's bodies, one after another, and where each is: its start
    // in `buf` and its offset in the module.
    let mut buf: Vec<u8> = Vec::new();
    let mut starts: Vec<(usize, u64)> = Vec::new();
    for i in 0..code.count {
        let (len, prefix) = read_u32(input).context("in the code section")?;
        let whole = u64::from(len) + prefix;
        if whole > left {
            bail!("function body at {at:#x} goes beyond the code section");
        }
        left -= whole;
        at += prefix;
        starts.push((buf.len(), at));
        let read = input.by_ref().take(u64::from(len)).read_to_end(&mut buf)?;
        if read != len as usize {
            bail!("the file ends inside the function body at {at:#x}");
        }
        at += u64::from(len);
        if buf.len() >= batch || i + 1 == code.count {
            let ends = starts.iter().skip(1).map(|s| s.0).chain([buf.len()]);
            let handed: Vec<FunctionBody> = starts
                .iter()
                .zip(ends)
                .map(|(&(start, at), end)| {
                    FunctionBody::new(BinaryReader::new(&buf[start..end], at as usize))
                })
                .collect();
            sink.bodies(&handed)?;
            drop(handed);
            buf.clear();
            starts.clear();
            if buf.capacity() > 2 * BATCH.max(KEEP_AT_MOST) {
                buf = Vec::new();
            }
        }
    }
    if left != 0 {
        bail!("{left} bytes after the last function body of the code section");
    }
    Ok(())
}

/// A LEB128 `u32` and how many bytes it took.
fn read_u32(input: &mut impl Read) -> Result<(u32, u64)> {
    let mut value: u32 = 0;
    for i in 0..5u32 {
        let mut byte = [0u8];
        input
            .read_exact(&mut byte)
            .map_err(|_| anyhow!("the file ends inside a body size"))?;
        let b = byte[0];
        if i == 4 && b > 0x0f {
            bail!("body size out of range");
        }
        value |= u32::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok((value, u64::from(i) + 1));
        }
    }
    bail!("body size out of range")
}
