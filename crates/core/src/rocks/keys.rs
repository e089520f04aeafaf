//! Order-preserving key encoding: comparing encoded keys bytewise gives the
//! same order as comparing the original tuples.
//!
//! A string is its bytes with `0x00` escaped as `0x00 0xFF`, then the
//! terminator `0x00 0x01`. Since the terminator sorts below any escaped or
//! plain byte, a string sorts before its extensions, and the encoding of a
//! string is never a prefix of another string's encoding.

const ESCAPE: [u8; 2] = [0x00, 0xFF];
const END: [u8; 2] = [0x00, 0x01];

pub(super) fn push_str(key: &mut Vec<u8>, s: &str) {
    for &b in s.as_bytes() {
        if b == 0 {
            key.extend_from_slice(&ESCAPE);
        } else {
            key.push(b);
        }
    }
    key.extend_from_slice(&END);
}

/// Decodes one string from the front of `key`, returning it and the rest.
pub(super) fn split_str(key: &[u8]) -> Option<(String, &[u8])> {
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        match *key.get(i)? {
            0 => match *key.get(i + 1)? {
                0xFF => out.push(0),
                0x01 => return Some((String::from_utf8(out).ok()?, &key[i + 2..])),
                _ => return None,
            },
            b => {
                out.push(b);
                i += 1;
                continue;
            }
        }
        i += 2;
    }
}

pub(super) fn strs(parts: &[&str]) -> Vec<u8> {
    let mut key = Vec::new();
    for p in parts {
        push_str(&mut key, p);
    }
    key
}

pub(super) fn str_u64(s: &str, n: u64) -> Vec<u8> {
    let mut key = strs(&[s]);
    key.extend_from_slice(&n.to_be_bytes());
    key
}

pub(super) fn u64_of(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_preserves_tuple_order_and_round_trips() {
        let words = [
            "",
            "\0",
            "\0\0",
            "a",
            "a\0",
            "a\0b",
            "ab",
            "b",
            "é",
            "\u{10FFFF}",
        ];
        for a in words {
            for b in words {
                for c in words {
                    let (x, y) = (strs(&[a, b]), strs(&[a, c]));
                    assert_eq!(x.cmp(&y), (a, b).cmp(&(a, c)), "{a:?} {b:?} {c:?}");
                    let (x, y) = (strs(&[a, c]), strs(&[b, c]));
                    assert_eq!(x.cmp(&y), (a, c).cmp(&(b, c)), "{a:?} {b:?} {c:?}");
                }
                let key = strs(&[a, b]);
                let (first, rest) = split_str(&key).unwrap();
                let (second, rest) = split_str(rest).unwrap();
                assert_eq!((first.as_str(), second.as_str(), rest), (a, b, &[][..]));
            }
        }
    }

    #[test]
    fn truncated_keys_do_not_decode() {
        let key = strs(&["abc\0"]);
        for len in 0..key.len() {
            assert_eq!(split_str(&key[..len]), None);
        }
    }
}
