//! Valid wasm modules written from a plain description: the fixtures of
//! the call-graph tests and the large module `bench-bloat` measures. A
//! small encoder of our own: the few sections and instructions needed here
//! do not justify a dependency.

/// One instruction of a body. Every function has type `() -> ()` and one
/// `i32` local.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Instr {
    Call(u32),
    /// `i32.const v; drop`: a value (an address, a slot) kept alive.
    Const(i32),
    /// `local.get 0; i32.const v; i32.add; local.set 0`: an integer, 7
    /// bytes for a small `v`.
    Add(i32),
    /// `i32.const 0; i32.load offset=address; drop`.
    Load(u32),
    /// `i32.const 0; i32.const v; i32.store`: a value (a `fn` pointer)
    /// written to memory. Only the tests' fixtures use it.
    #[cfg_attr(not(test), allow(dead_code))]
    Store(i32),
}

#[derive(Debug, Clone, Default)]
pub struct Function {
    pub name: String,
    pub body: Vec<Instr>,
}

#[derive(Debug, Clone, Default)]
pub struct Module {
    /// Imported functions (`env.<name>`), indices `0..imports.len()`.
    pub imports: Vec<String>,
    /// Defined functions, indices after the imports.
    pub functions: Vec<Function>,
    /// Exported functions: (name, function index).
    pub exports: Vec<(String, u32)>,
    pub start: Option<u32>,
    /// Table slots `1..=table.len()` hold these functions (slot 0 is null,
    /// as rustc's linker leaves it).
    pub table: Vec<u32>,
    /// Active data segments: (address, contents, name).
    pub data: Vec<(u32, Vec<u8>, String)>,
    /// Write the name section.
    pub names: bool,
}

fn leb(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn sleb(out: &mut Vec<u8>, v: i64) {
    let mut v = v;
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        let done = (v == 0 && byte & 0x40 == 0) || (v == -1 && byte & 0x40 != 0);
        out.push(if done { byte } else { byte | 0x80 });
        if done {
            return;
        }
    }
}

fn name(out: &mut Vec<u8>, s: &str) {
    leb(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn section(out: &mut Vec<u8>, id: u8, contents: &[u8]) {
    out.push(id);
    leb(out, contents.len() as u64);
    out.extend_from_slice(contents);
}

/// The encoded body of `f`, without its size prefix.
pub fn body(f: &Function) -> Vec<u8> {
    let mut b = vec![1, 1, 0x7f]; // one group of locals: 1 × i32
    for i in &f.body {
        match *i {
            Instr::Call(x) => {
                b.push(0x10);
                leb(&mut b, u64::from(x));
            }
            Instr::Const(v) => {
                b.push(0x41);
                sleb(&mut b, i64::from(v));
                b.push(0x1a);
            }
            Instr::Add(v) => {
                b.extend_from_slice(&[0x20, 0, 0x41]);
                sleb(&mut b, i64::from(v));
                b.extend_from_slice(&[0x6a, 0x21, 0]);
            }
            Instr::Load(address) => {
                b.extend_from_slice(&[0x41, 0, 0x28, 2]);
                leb(&mut b, u64::from(address));
                b.push(0x1a);
            }
            Instr::Store(v) => {
                b.extend_from_slice(&[0x41, 0, 0x41]);
                sleb(&mut b, i64::from(v));
                b.extend_from_slice(&[0x36, 2, 0]);
            }
        }
    }
    b.push(0x0b);
    b
}

impl Module {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = b"\0asm\x01\0\0\0".to_vec();
        self.declarations(&mut out);
        self.exports_start_elements(&mut out);
        let mut s = Vec::new();
        leb(&mut s, self.functions.len() as u64);
        for f in &self.functions {
            let b = body(f);
            leb(&mut s, b.len() as u64);
            s.extend_from_slice(&b);
        }
        section(&mut out, 10, &s);
        if !self.data.is_empty() {
            let mut s = Vec::new();
            leb(&mut s, self.data.len() as u64);
            for (address, d, _) in &self.data {
                s.extend_from_slice(&[0, 0x41]);
                sleb(&mut s, i64::from(*address as i32));
                s.push(0x0b);
                leb(&mut s, d.len() as u64);
                s.extend_from_slice(d);
            }
            section(&mut out, 11, &s);
        }
        if self.names {
            self.name_section(&mut out);
        }
        out
    }

    /// The type, import, function, table and memory sections.
    fn declarations(&self, out: &mut Vec<u8>) {
        section(out, 1, &[1, 0x60, 0, 0]);
        if !self.imports.is_empty() {
            let mut s = Vec::new();
            leb(&mut s, self.imports.len() as u64);
            for i in &self.imports {
                name(&mut s, "env");
                name(&mut s, i);
                s.extend_from_slice(&[0, 0]);
            }
            section(out, 2, &s);
        }
        let mut s = Vec::new();
        leb(&mut s, self.functions.len() as u64);
        s.extend(std::iter::repeat_n(0, self.functions.len()));
        section(out, 3, &s);
        let mut s = vec![1, 0x70, 0];
        leb(&mut s, self.table.len() as u64 + 1);
        section(out, 4, &s);
        let end = self
            .data
            .iter()
            .map(|(a, d, _)| u64::from(*a) + d.len() as u64)
            .max()
            .unwrap_or(0);
        let mut s = vec![1, 0];
        leb(&mut s, end.div_ceil(65536).max(1));
        section(out, 5, &s);
    }

    /// The export, start and element sections.
    fn exports_start_elements(&self, out: &mut Vec<u8>) {
        let mut s = Vec::new();
        leb(&mut s, self.exports.len() as u64 + 1);
        name(&mut s, "memory");
        s.extend_from_slice(&[2, 0]);
        for (n, f) in &self.exports {
            name(&mut s, n);
            s.push(0);
            leb(&mut s, u64::from(*f));
        }
        section(out, 7, &s);
        if let Some(f) = self.start {
            let mut s = Vec::new();
            leb(&mut s, u64::from(f));
            section(out, 8, &s);
        }
        if !self.table.is_empty() {
            let mut s = vec![1, 0, 0x41, 1, 0x0b];
            leb(&mut s, self.table.len() as u64);
            for f in &self.table {
                leb(&mut s, u64::from(*f));
            }
            section(out, 9, &s);
        }
    }

    /// The `name` section: function names, and data segment names.
    fn name_section(&self, out: &mut Vec<u8>) {
        let mut s = Vec::new();
        name(&mut s, "name");
        let mut sub = Vec::new();
        let count = self.imports.len() + self.functions.len();
        leb(&mut sub, count as u64);
        let all = self
            .imports
            .iter()
            .chain(self.functions.iter().map(|f| &f.name));
        for (i, n) in all.enumerate() {
            leb(&mut sub, i as u64);
            name(&mut sub, n);
        }
        s.push(1);
        leb(&mut s, sub.len() as u64);
        s.extend_from_slice(&sub);
        if !self.data.is_empty() {
            let mut sub = Vec::new();
            leb(&mut sub, self.data.len() as u64);
            for (i, (_, _, n)) in self.data.iter().enumerate() {
                leb(&mut sub, i as u64);
                name(&mut sub, n);
            }
            s.push(9);
            leb(&mut s, sub.len() as u64);
            s.extend_from_slice(&sub);
        }
        section(out, 0, &s);
    }
}

/// Where the large module keeps its vtables.
pub const VTABLES_AT: u32 = 1 << 20;

/// What [`large`] built, so a test can check figures against it.
#[derive(Debug, Clone)]
pub struct Large {
    pub module: Module,
    /// Defined function indices of the chain `chain[0] → chain[1] → …`,
    /// reached only through its first link.
    pub chain: Vec<u32>,
    /// A function reaching its vtable, and the two methods only that vtable
    /// lists: (user, vtable address, methods).
    #[cfg_attr(not(test), allow(dead_code))]
    pub vtable_user: (u32, u32, [u32; 2]),
}

/// A module shaped like a big Rust program: `functions` functions named
/// `crate<c>::m::f<i>` over 40 crates, a 4-ary call tree from `_start`
/// with calls into a shared core; a third of them are trait methods called
/// only through vtables in data, and bodies padded to about `body_bytes`.
pub fn large(functions: u32, body_bytes: usize) -> Large {
    let n = functions.max(64);
    let pad = |b: &mut Vec<Instr>, i: u32| {
        // Add(v) with v ≥ 64 is 8 bytes.
        for k in 0..body_bytes / 8 {
            b.push(Instr::Add(64 + ((i + k as u32) % 4096) as i32));
        }
    };
    // Functions 0..callers form the tree; the rest are methods, two per
    // vtable, one vtable per fourth caller.
    let methods_from = n - n / 3;
    let mut fs: Vec<Function> = (0..n)
        .map(|i| Function {
            name: format!("crate{}::m::f{i}", i % 40),
            body: Vec::new(),
        })
        .collect();
    fs[0].name = "_start".into();
    let shared = 16.min(methods_from); // functions 1..16: the shared core
    let chain_len = 10u32;
    let chain_from = methods_from - chain_len;
    for i in 1..chain_from {
        let parent = (i - 1) / 4;
        fs[parent as usize].body.push(Instr::Call(i));
    }
    for i in 0..chain_len {
        let f = chain_from + i;
        if i == 0 {
            fs[0].body.push(Instr::Call(f));
        } else {
            fs[(f - 1) as usize].body.push(Instr::Call(f));
        }
    }
    for i in shared..chain_from {
        fs[i as usize].body.push(Instr::Call(1 + i % (shared - 1)));
    }
    let Methods {
        table,
        vtables,
        vtable_user,
    } = methods(&mut fs, methods_from, shared..chain_from);
    for (i, f) in fs.iter_mut().enumerate() {
        pad(&mut f.body, i as u32);
    }
    let data: Vec<u8> = vtables
        .iter()
        .flat_map(|w| w.iter().flat_map(|x| x.to_le_bytes()))
        .collect();
    Large {
        module: Module {
            imports: Vec::new(),
            functions: fs,
            exports: vec![("_start".into(), 0)],
            start: None,
            table,
            data: vec![(VTABLES_AT, data, ".rodata".into())],
            names: true,
        },
        chain: (chain_from..methods_from).collect(),
        vtable_user,
    }
}

/// The methods from `methods_from` on: two per vtable, the vtables named
/// by every fourth of `users`, the rest in the table only. Returns the
/// table, the vtables' words, and the first vtable user with its address
/// and methods.
fn methods(fs: &mut [Function], methods_from: u32, users: std::ops::Range<u32>) -> Methods {
    let n = fs.len() as u32;
    let mut table = Vec::new();
    let mut vtables = Vec::new();
    let mut m = methods_from;
    let mut user = users.start;
    let mut vtable_user = (0, 0, [0, 0]);
    while m + 1 < n && users.contains(&user) {
        let address = VTABLES_AT + 16 * vtables.len() as u32;
        let (s1, s2) = (table.len() as u32 + 1, table.len() as u32 + 2);
        table.extend([m, m + 1]);
        // Two vtables, `[drop: none, size 8, align 8, method]`, one named
        // by an address constant, one by a load's static offset.
        vtables.push([0u32, 8, 8, s1]);
        let address_b = address + 16;
        vtables.push([0u32, 8, 8, s2]);
        fs[user as usize].body.push(Instr::Const(address as i32));
        fs[user as usize].body.push(Instr::Load(address_b));
        if vtable_user.0 == 0 {
            vtable_user = (user, address, [m, m + 1]);
        }
        m += 2;
        user += 4;
    }
    // Leftover methods: in the table, pointed at by nothing.
    while m < n {
        table.push(m);
        m += 1;
    }
    Methods {
        table,
        vtables,
        vtable_user,
    }
}

/// What [`methods`] made.
struct Methods {
    table: Vec<u32>,
    /// Each vtable's words.
    vtables: Vec<[u32; 4]>,
    /// As [`Large::vtable_user`].
    vtable_user: (u32, u32, [u32; 2]),
}
