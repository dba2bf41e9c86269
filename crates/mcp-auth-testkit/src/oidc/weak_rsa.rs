//! RSASSA-PKCS1-v1_5 for the deliberately weak 1024-bit fixture key.
//!
//! The crypto backend refuses RSA keys below 2048 bits for signing and verifying, so the weak
//! key is handled here with a small Montgomery exponentiation. Test support only: not constant
//! time, not for real keys.

use sha2::{Digest as _, Sha256, Sha384, Sha512};

use jsonwebtoken::Algorithm;

/// The parts of a PKCS#1 `RSAPrivateKey` used here (big-endian, no leading zeros).
#[derive(Debug, Clone)]
pub(crate) struct RsaParts {
    /// Modulus.
    pub(crate) n: Vec<u8>,
    /// Public exponent.
    pub(crate) e: Vec<u8>,
    /// Private exponent.
    pub(crate) d: Vec<u8>,
}

/// One DER TLV: (tag, content, rest).
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let (len_bytes, after) = rest.split_at(count);
        rest = after;
        len_bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
    };
    if rest.len() < len {
        return None;
    }
    let (content, rest) = rest.split_at(len);
    Some((tag, content, rest))
}

fn strip_zeros(bytes: &[u8]) -> Vec<u8> {
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    bytes[skip..].to_vec()
}

/// Reads `n`, `e`, `d` from a PKCS#1 `RSAPrivateKey` DER document.
pub(crate) fn parse_pkcs1_private(der: &[u8]) -> Option<RsaParts> {
    let (0x30, body, _) = tlv(der)? else {
        return None;
    };
    let mut rest = body;
    let mut ints = Vec::with_capacity(4);
    for _ in 0..4 {
        let (tag, content, after) = tlv(rest)?;
        if tag != 0x02 {
            return None;
        }
        ints.push(strip_zeros(content));
        rest = after;
    }
    let d = ints.pop()?;
    let e = ints.pop()?;
    let n = ints.pop()?;
    Some(RsaParts { n, e, d })
}

/// Little-endian 64-bit limbs.
type Limbs = Vec<u64>;

fn from_be(bytes: &[u8], limbs: usize) -> Limbs {
    let mut out = vec![0u64; limbs];
    for (i, b) in bytes.iter().rev().enumerate() {
        out[i / 8] |= u64::from(*b) << (8 * (i % 8));
    }
    out
}

fn to_be(limbs: &[u64], len: usize) -> Vec<u8> {
    (0..len)
        .rev()
        .map(|i| (limbs[i / 8] >> (8 * (i % 8))) as u8)
        .collect()
}

fn geq(a: &[u64], b: &[u64]) -> bool {
    for (x, y) in a.iter().rev().zip(b.iter().rev()) {
        if x != y {
            return x > y;
        }
    }
    true
}

/// `a -= b` modulo 2^(64 * len).
fn sub_assign(a: &mut [u64], b: &[u64]) {
    let mut borrow = false;
    for (x, y) in a.iter_mut().zip(b) {
        let (d1, b1) = x.overflowing_sub(*y);
        let (d2, b2) = d1.overflowing_sub(u64::from(borrow));
        *x = d2;
        borrow = b1 || b2;
    }
}

/// A modulus prepared for Montgomery multiplication.
struct Modulus {
    n: Limbs,
    /// -n^-1 mod 2^64.
    n0inv: u64,
    /// R^2 mod n, R = 2^(64 * limbs).
    r2: Limbs,
}

impl Modulus {
    fn new(n_bytes: &[u8]) -> Self {
        let k = n_bytes.len().div_ceil(8);
        let n = from_be(n_bytes, k);
        // Newton iteration: each step doubles the correct low bits of the inverse.
        let mut inv = 1u64;
        for _ in 0..6 {
            inv = inv.wrapping_mul(2u64.wrapping_sub(n[0].wrapping_mul(inv)));
        }
        let mut r2 = vec![0u64; k];
        r2[0] = 1;
        for _ in 0..(128 * k) {
            let mut carry = 0u64;
            for limb in r2.iter_mut() {
                let next = *limb >> 63;
                *limb = (*limb << 1) | carry;
                carry = next;
            }
            if carry == 1 || geq(&r2, &n) {
                sub_assign(&mut r2, &n);
            }
        }
        Self {
            n,
            n0inv: inv.wrapping_neg(),
            r2,
        }
    }

    /// a * b / R mod n (CIOS).
    #[allow(clippy::needless_range_loop)] // index arithmetic over three arrays
    fn mul(&self, a: &[u64], b: &[u64]) -> Limbs {
        let k = self.n.len();
        let n = &self.n;
        let mut t = vec![0u64; k + 2];
        for i in 0..k {
            let mut c = 0u64;
            for j in 0..k {
                let s = u128::from(t[j]) + u128::from(a[j]) * u128::from(b[i]) + u128::from(c);
                t[j] = s as u64;
                c = (s >> 64) as u64;
            }
            let s = u128::from(t[k]) + u128::from(c);
            t[k] = s as u64;
            t[k + 1] = (s >> 64) as u64;
            let m = t[0].wrapping_mul(self.n0inv);
            let s = u128::from(t[0]) + u128::from(m) * u128::from(n[0]);
            let mut c = (s >> 64) as u64;
            for j in 1..k {
                let s = u128::from(t[j]) + u128::from(m) * u128::from(n[j]) + u128::from(c);
                t[j - 1] = s as u64;
                c = (s >> 64) as u64;
            }
            let s = u128::from(t[k]) + u128::from(c);
            t[k - 1] = s as u64;
            t[k] = t[k + 1] + (s >> 64) as u64;
            t[k + 1] = 0;
        }
        let mut r = t[..k].to_vec();
        if t[k] != 0 || geq(&r, n) {
            sub_assign(&mut r, n);
        }
        r
    }

    /// base^exp mod n, big-endian in and out (`len` bytes out).
    fn pow(&self, base: &[u8], exp: &[u8], len: usize) -> Vec<u8> {
        let k = self.n.len();
        let mut one = vec![0u64; k];
        one[0] = 1;
        let base = self.mul(&from_be(base, k), &self.r2);
        let mut acc = self.mul(&one, &self.r2);
        for byte in exp {
            for bit in (0..8).rev() {
                acc = self.mul(&acc, &acc);
                if (byte >> bit) & 1 == 1 {
                    acc = self.mul(&acc, &base);
                }
            }
        }
        to_be(&self.mul(&acc, &one), len)
    }
}

/// EMSA-PKCS1-v1_5 encoding of `message` for a `len`-byte modulus.
fn encode(message: &[u8], alg: Algorithm, len: usize) -> Option<Vec<u8>> {
    let (prefix, hash): (&[u8], Vec<u8>) = match alg {
        Algorithm::RS256 => (
            &[
                0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x01, 0x05, 0x00, 0x04, 0x20,
            ],
            Sha256::digest(message).to_vec(),
        ),
        Algorithm::RS384 => (
            &[
                0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x02, 0x05, 0x00, 0x04, 0x30,
            ],
            Sha384::digest(message).to_vec(),
        ),
        Algorithm::RS512 => (
            &[
                0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x03, 0x05, 0x00, 0x04, 0x40,
            ],
            Sha512::digest(message).to_vec(),
        ),
        _ => return None,
    };
    let t_len = prefix.len() + hash.len();
    if len < t_len + 11 {
        return None;
    }
    let mut em = Vec::with_capacity(len);
    em.extend_from_slice(&[0x00, 0x01]);
    em.resize(len - t_len - 1, 0xff);
    em.push(0x00);
    em.extend_from_slice(prefix);
    em.extend_from_slice(&hash);
    Some(em)
}

/// Signs `message` with RS256/384/512; `None` for other algorithms.
pub(crate) fn sign(parts: &RsaParts, message: &[u8], alg: Algorithm) -> Option<Vec<u8>> {
    let len = parts.n.len();
    let em = encode(message, alg, len)?;
    Some(Modulus::new(&parts.n).pow(&em, &parts.d, len))
}

/// Verifies an RS256/384/512 signature (for the testkit's own tests).
pub(crate) fn verify(parts: &RsaParts, message: &[u8], signature: &[u8], alg: Algorithm) -> bool {
    let len = parts.n.len();
    if signature.len() != len
        || geq(
            &from_be(signature, len.div_ceil(8)),
            &from_be(&parts.n, len.div_ceil(8)),
        )
    {
        return false;
    }
    match encode(message, alg, len) {
        Some(em) => Modulus::new(&parts.n).pow(signature, &parts.e, len) == em,
        None => false,
    }
}
