//! Scope requirements per MCP tool, enforced at the HTTP layer so a client can step up.
//!
//! A `tools/call` for a tool whose scopes the token lacks is answered `403` with
//! `WWW-Authenticate: Bearer error="insufficient_scope", scope="<needed>"` before it reaches the
//! MCP server: the MCP authorization spec's "Scope Challenge Handling", which clients answer by
//! asking the authorization server for the extra scope.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use foldhash::fast::RandomState;
use memchr::memmem::Finder;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::scope::Scopes;

/// Tool name to the scopes it needs.
#[derive(Debug, Clone, Default)]
pub(crate) struct ToolScopes {
    /// Hashed with foldhash rather than SipHash: the names are the server's own (a client
    /// only looks them up, it cannot fill the map), so there is no flooding to resist, and the
    /// lookup runs on every `tools/call`.
    scopes: HashMap<String, Scopes, RandomState>,
    /// Each name as it is spelled in JSON without escapes, `"name"`: [`ToolScopes::named_in`].
    quoted: Vec<Finder<'static>>,
}

/// The tools a JSON-RPC body calls, by the names it gives them (for the audit event): borrowed
/// from the body where it spells them without escapes. Displayed comma-separated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CalledTools<'b> {
    /// The first name, kept apart: a body nearly always calls one tool, and that needs no
    /// vector.
    first: Option<Cow<'b, str>>,
    rest: Vec<Cow<'b, str>>,
}

impl<'b> CalledTools<'b> {
    /// No tool called.
    pub fn none() -> Self {
        Self::default()
    }

    fn push(&mut self, name: Cow<'b, str>) {
        if self.first.is_none() {
            self.first = Some(name);
        } else {
            self.rest.push(name);
        }
    }

    /// The names, in the body's order; `?` stands for a call whose tool could not be read.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.first.iter().chain(&self.rest).map(AsRef::as_ref)
    }

    /// How many tools are called.
    pub fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.rest.len()
    }

    /// Whether no tool is called.
    pub fn is_empty(&self) -> bool {
        self.first.is_none()
    }
}

impl fmt::Display for CalledTools<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, name) in self.names().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(name)?;
        }
        Ok(())
    }
}

/// What a body asks for: the tools it calls and the scopes they need together (borrowed from
/// the configuration when one tool's scopes are all it needs).
pub(crate) type Requirements<'t, 'b> = (CalledTools<'b>, Cow<'t, Scopes>);

impl ToolScopes {
    /// Every scope any tool needs: what an unreadable `tools/call` must carry.
    fn all(&self) -> Scopes {
        let mut all = Scopes::new();
        for scopes in self.scopes.values() {
            all.extend(scopes);
        }
        all
    }

    pub(crate) fn insert(&mut self, tool: String, scopes: Scopes) {
        if !self.scopes.contains_key(&tool) {
            let quoted = format!("\"{tool}\"");
            self.quoted
                .push(Finder::new(quoted.as_bytes()).into_owned());
        }
        self.scopes.entry(tool).or_default().extend(&scopes);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.scopes.is_empty()
    }

    /// Whether `body` may name a tool that has scopes: `false` is certain, whatever the
    /// body's structure and however a JSON parser reads it.
    ///
    /// Why it is certain: in JSON, only an escape (`\`) lets a string's text differ from the
    /// bytes between its quotes. So in a body without a backslash, every string that reads
    /// `hello` is spelled `"hello"`, and a body that contains no configured name in quotes
    /// cannot call such a tool: not by name, nor by position, nor under a duplicate key. Such a
    /// body needs no tool scope, and reading it ([`ToolScopes::requirements`], over a thousand
    /// instructions for a typical call) is skipped for a search costing tens. It also
    /// covers an unreadable `tools/call` (which otherwise needs every tool scope, failing
    /// closed), since no reading of it can reach a configured tool either. (A tool name that
    /// JSON must escape, such as one with a quote, implies a backslash, so the full reading.)
    pub(crate) fn named_in(&self, body: &[u8]) -> bool {
        memchr::memchr(b'\\', body).is_some()
            || self.quoted.iter().any(|quoted| quoted.find(body).is_some())
    }

    /// The tools called by a JSON-RPC message (or batch), and the scopes they need together.
    /// A body that is not JSON yields nothing: the MCP server will refuse it itself.
    pub(crate) fn requirements<'b>(&self, body: &'b [u8]) -> Requirements<'_, 'b> {
        // Fastest path, for the typical body: a byte scan of one plain JSON object (no escapes,
        // no batch). It answers only for bodies it read completely and that serde_json reads
        // the same way; for anything else it says nothing and the serde paths below decide.
        if let Some(call) = scan_single(body) {
            return self.collect(call.into_iter());
        }
        self.requirements_serde(body)
    }

    /// The streaming serde read, falling back to the full parse.
    fn requirements_serde<'b>(&self, body: &'b [u8]) -> Requirements<'_, 'b> {
        // Fast path: a streaming read of `method` and `params.name` only, with exactly the
        // semantics of the full parse below (last duplicate key wins, anything but a string
        // `method` is not a call, a call whose name cannot be read needs every tool scope),
        // without building a JSON value. Bodies it cannot read fall back to the full parse.
        // Only on valid JSON, though: what it skips (`IgnoredAny`) goes unchecked for UTF-8,
        // number range and depth, so it may read a call in a body the full parse refuses, and
        // then requires its scopes, where the full parse would require none: the safe side.
        let batch = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
        if batch {
            match serde_json::from_slice::<Vec<Message<'_>>>(body) {
                Ok(messages) => self.collect(messages.into_iter().filter_map(Message::call)),
                Err(_) => self.requirements_slow(body),
            }
        } else {
            // The common case, one message: no Vec to hold it.
            match serde_json::from_slice::<Message<'_>>(body) {
                Ok(message) => self.collect(message.call().into_iter()),
                Err(_) => self.requirements_slow(body),
            }
        }
    }

    fn collect<'b>(&self, calls: impl Iterator<Item = Target<'b>>) -> Requirements<'_, 'b> {
        let mut tools = CalledTools::none();
        let mut needed: Cow<'_, Scopes> = Cow::Owned(Scopes::new());
        for call in calls {
            match call {
                Target::Named(name) => {
                    if let Some(scopes) = self.scopes.get(name.as_ref()) {
                        if needed.is_empty() {
                            needed = Cow::Borrowed(scopes);
                        } else {
                            needed.to_mut().extend(scopes);
                        }
                    }
                    tools.push(name);
                }
                // A `tools/call` whose tool cannot be read here (params by position, a name
                // that is not a string) might still be understood by the MCP server's own
                // parser, so it must carry every tool scope: fail closed.
                Target::Unreadable => {
                    needed.to_mut().extend(&self.all());
                    tools.push(Cow::Borrowed("?"));
                }
            }
        }
        (tools, needed)
    }

    /// The full parse into a JSON value: the reference semantics.
    fn requirements_slow<'b>(&self, body: &'b [u8]) -> Requirements<'_, 'b> {
        let Ok(message) = serde_json::from_slice::<Value>(body) else {
            return (CalledTools::none(), Cow::Owned(Scopes::new()));
        };
        let messages = match &message {
            Value::Array(batch) => batch.iter().collect::<Vec<_>>(),
            single => vec![single],
        };
        self.collect(messages.into_iter().filter_map(|message| {
            if message.get("method").and_then(Value::as_str) != Some("tools/call") {
                return None;
            }
            Some(
                match message
                    .get("params")
                    .and_then(Value::as_object)
                    .and_then(|p| p.get("name"))
                {
                    // The names live in this parse, not in the body: owned.
                    Some(Value::String(name)) => Target::Named(Cow::Owned(name.clone())),
                    _ => Target::Unreadable,
                },
            )
        }))
    }
}

/// Reads one JSON-RPC message with [`Scan`]: the tool it calls (`Some(None)`: not a call), or
/// `None` when the body is outside what the scanner reads, for the serde paths to decide.
///
/// The decision is [`Message::call`]'s: only the top-level `method` and `params` count, the last
/// of duplicate keys wins, a `method` that is not the string `tools/call` is no call, a call
/// without an object `params` holding a string `name` is unreadable.
fn scan_single(body: &[u8]) -> Option<Option<Target<'_>>> {
    let mut scan = Scan {
        rest: body,
        depth: 0,
    };
    scan.skip_ws();
    // A batch, or a lone scalar: rare, left to serde.
    if scan.peek() != Some(b'{') {
        return None;
    }
    let mut call = false;
    let mut params = None;
    scan.object(|scan, key| {
        match key {
            // Without escapes, the raw bytes are the string.
            b"method" => call = scan.maybe_string()? == Some(b"tools/call"),
            b"params" => params = Some(scan.params()?),
            _ => scan.value()?,
        }
        Ok(())
    })
    .ok()?;
    // As `serde_json::from_slice`, nothing but whitespace may follow the message.
    scan.skip_ws();
    if !scan.rest.is_empty() {
        return None;
    }
    if !call {
        return Some(None);
    }
    Some(Some(match params {
        Some(Params::Object(Some(name))) => Target::Named(name),
        _ => Target::Unreadable,
    }))
}

/// The bytes a string holds as themselves in the common case: printable ASCII (and DEL), but
/// not `"` (the end) nor `\` (an escape). Control characters are invalid in a string, and
/// non-ASCII bytes need a UTF-8 check.
const PLAIN: [bool; 256] = {
    let mut plain = [false; 256];
    let mut byte = 0x20;
    while byte < 0x80 {
        plain[byte] = byte != b'"' as usize && byte != b'\\' as usize;
        byte += 1;
    }
    plain
};

/// The scanner met something outside its subset of JSON (or invalid JSON): it gives no answer.
struct Bail;

/// A cursor over a body, reading a strict subset of JSON by hand, without allocating.
///
/// serde_json's general machinery (escape decoding into a scratch buffer, visitors, number
/// parsing) costs a few thousand instructions per typical message; nearly all of it is for
/// cases a typical message does not contain. The subset: objects, arrays, strings without any
/// backslash or control character, `true`/`false`/`null`, and numbers of the exact JSON
/// grammar with a magnitude far below `f64::MAX`, nested at most [`Scan::MAX_DEPTH`] deep.
/// Whatever it reads, serde_json reads the same way, so the answer is the same; everything
/// else is a [`Bail`]. This is a security check: when in doubt, bail.
struct Scan<'a> {
    /// The body from the cursor on.
    rest: &'a [u8],
    /// Objects and arrays open around the cursor.
    depth: usize,
}

impl<'a> Scan<'a> {
    /// Well below serde_json's recursion limit (128), which fails a body it also must fail.
    const MAX_DEPTH: usize = 64;

    fn peek(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// Consumes `byte` if it is next.
    fn eat(&mut self, byte: u8) -> bool {
        match self.rest {
            [first, rest @ ..] if *first == byte => {
                self.rest = rest;
                true
            }
            _ => false,
        }
    }

    /// JSON's whitespace only: not `u8::is_ascii_whitespace`, which also takes form feed.
    fn skip_ws(&mut self) {
        while let [b' ' | b'\t' | b'\n' | b'\r', rest @ ..] = self.rest {
            self.rest = rest;
        }
    }

    /// Any value, skipped (leading whitespace included).
    fn value(&mut self) -> Result<(), Bail> {
        self.skip_ws();
        match self.peek() {
            Some(b'"') => self.string().map(drop),
            Some(b'{') => self.object(|scan, _| scan.value()),
            Some(b'[') => self.array(),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(Bail),
        }
    }

    /// A string's raw content, if the value is a string; any other value is skipped (`None`).
    fn maybe_string(&mut self) -> Result<Option<&'a [u8]>, Bail> {
        self.skip_ws();
        if self.peek() == Some(b'"') {
            self.string().map(Some)
        } else {
            self.value().map(|()| None)
        }
    }

    /// `params`: an object with its string `name` (the last one, if repeated), or anything else.
    fn params(&mut self) -> Result<Params<'a>, Bail> {
        self.skip_ws();
        if self.peek() != Some(b'{') {
            return self.value().map(|()| Params::NotObject);
        }
        let mut name = None;
        self.object(|scan, key| {
            if key == b"name" {
                name = match scan.maybe_string()? {
                    // `string` has validated the UTF-8: this only makes the `&str`.
                    Some(name) => Some(Cow::Borrowed(std::str::from_utf8(name).map_err(|_| Bail)?)),
                    None => None,
                };
            } else {
                scan.value()?;
            }
            Ok(())
        })?;
        Ok(Params::Object(name))
    }

    /// A string at the cursor: its raw content, which is also its value since it holds no
    /// escape.
    #[inline]
    fn string(&mut self) -> Result<&'a [u8], Bail> {
        let [b'"', rest @ ..] = self.rest else {
            return Err(Bail);
        };
        // Nearly every string is plain ASCII to its closing quote: one tight loop.
        let len = rest
            .iter()
            .position(|&byte| !PLAIN[usize::from(byte)])
            .unwrap_or(rest.len());
        match rest.split_at(len) {
            (content, [b'"', after @ ..]) => {
                self.rest = after;
                Ok(content)
            }
            _ => self.unusual_string(rest, len),
        }
    }

    /// A string's content `rest`, where [`Scan::string`] met a byte at `len` that is not plain.
    #[cold]
    fn unusual_string(&mut self, rest: &'a [u8], mut len: usize) -> Result<&'a [u8], Bail> {
        loop {
            match rest.get(len) {
                Some(b'"') => break,
                Some(&byte) if byte >= 0x80 || PLAIN[usize::from(byte)] => len += 1,
                // An escape (serde_json decodes `"tools\/call"` to `tools/call`, `\u` pairs,
                // and refuses lone surrogates: all left to it), a raw control character (tab
                // included), which JSON forbids in a string, or the end of the body.
                _ => return Err(Bail),
            }
        }
        let content = &rest[..len];
        // serde_json refuses invalid UTF-8 in a string, so must we. A quote is never part of
        // a multi-byte character, so the content is what to check.
        std::str::from_utf8(content).map_err(|_| Bail)?;
        self.rest = &rest[len + 1..];
        Ok(content)
    }

    /// An object at the cursor, handing each key to `entry` with the cursor after the key's
    /// colon; `entry` must consume the value.
    fn object(
        &mut self,
        mut entry: impl FnMut(&mut Self, &'a [u8]) -> Result<(), Bail>,
    ) -> Result<(), Bail> {
        self.open(b'{')?;
        self.skip_ws();
        if !self.eat(b'}') {
            loop {
                let key = self.string()?;
                self.skip_ws();
                if !self.eat(b':') {
                    return Err(Bail);
                }
                entry(self, key)?;
                self.skip_ws();
                if self.eat(b'}') {
                    break;
                }
                // A comma must be followed by another entry: `{"a":1,}` is invalid JSON.
                if !self.eat(b',') {
                    return Err(Bail);
                }
                self.skip_ws();
            }
        }
        self.depth -= 1;
        Ok(())
    }

    /// An array at the cursor, skipped.
    fn array(&mut self) -> Result<(), Bail> {
        self.open(b'[')?;
        self.skip_ws();
        if !self.eat(b']') {
            loop {
                self.value()?;
                self.skip_ws();
                if self.eat(b']') {
                    break;
                }
                // As in objects, no trailing comma.
                if !self.eat(b',') {
                    return Err(Bail);
                }
            }
        }
        self.depth -= 1;
        Ok(())
    }

    /// Steps into an object or array (`bracket`), within the depth bound.
    fn open(&mut self, bracket: u8) -> Result<(), Bail> {
        self.depth += 1;
        if self.depth > Self::MAX_DEPTH || !self.eat(bracket) {
            return Err(Bail);
        }
        Ok(())
    }

    /// `true`, `false` or `null`. A longer run of letters (`nullx`) is caught by whoever reads
    /// the next token, which expects `,`, `}`, `]` or the end.
    fn literal(&mut self, word: &[u8]) -> Result<(), Bail> {
        self.rest = self.rest.strip_prefix(word).ok_or(Bail)?;
        Ok(())
    }

    /// A number of the JSON grammar, `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    ///
    /// serde_json also fails a number whose value overflows an `f64` ("number out of range":
    /// `1e400`, or 400 digits), so the magnitude is bounded well inside: at most 100 integer
    /// digits and a two-digit exponent, under 1e199. A smaller number is never out of range
    /// (one too small for an `f64` becomes 0).
    fn number(&mut self) -> Result<(), Bail> {
        self.eat(b'-');
        // No leading zeros: after `0` comes the fraction, the exponent or the number's end,
        // and a digit there (`01`) is an error for the next token's reader.
        let integer_digits = if self.eat(b'0') { 1 } else { self.digits() };
        if !(1..=100).contains(&integer_digits) {
            return Err(Bail);
        }
        if self.eat(b'.') && self.digits() == 0 {
            return Err(Bail);
        }
        if self.eat(b'e') || self.eat(b'E') {
            if !self.eat(b'+') {
                self.eat(b'-');
            }
            if !(1..=2).contains(&self.digits()) {
                return Err(Bail);
            }
        }
        Ok(())
    }

    /// Skips decimal digits, returning how many.
    fn digits(&mut self) -> usize {
        let count = self
            .rest
            .iter()
            .position(|byte| !byte.is_ascii_digit())
            .unwrap_or(self.rest.len());
        self.rest = &self.rest[count..];
        count
    }
}

/// The tool a `tools/call` names.
enum Target<'a> {
    Named(Cow<'a, str>),
    Unreadable,
}

/// One JSON-RPC message as far as this check reads it.
#[derive(Default)]
struct Message<'a> {
    /// `Some` only when `method` is a string.
    method: Option<Cow<'a, str>>,
    params: Option<Params<'a>>,
}

impl<'a> Message<'a> {
    fn call(self) -> Option<Target<'a>> {
        if self.method.as_deref() != Some("tools/call") {
            return None;
        }
        Some(match self.params {
            Some(Params::Object(Some(name))) => Target::Named(name),
            _ => Target::Unreadable,
        })
    }
}

/// `params`: an object and its string `name` (if any), or anything else.
enum Params<'a> {
    Object(Option<Cow<'a, str>>),
    NotObject,
}

/// A JSON string, or the fact that the value was something else.
struct MaybeString<'a>(Option<Cow<'a, str>>);

struct MessageVisitor;
struct ParamsVisitor;
struct MaybeStringVisitor;

impl<'de> Deserialize<'de> for Message<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(MessageVisitor)
    }
}

impl<'de> Deserialize<'de> for Params<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ParamsVisitor)
    }
}

impl<'de> Deserialize<'de> for MaybeString<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(MaybeStringVisitor)
    }
}

/// Visits any JSON value, treating everything but a map as "not a message".
macro_rules! not_a_map {
    ($value:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok($value)
        }
    };
}

impl<'de> Visitor<'de> for MessageVisitor {
    type Value = Message<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON-RPC message")
    }

    not_a_map!(Message::default());

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut message = Message::default();
        while let Some(key) = map.next_key::<Key>()? {
            // As in a JSON value, the last occurrence of a key wins.
            match key {
                Key::Method => message.method = map.next_value::<MaybeString<'de>>()?.0,
                Key::Params => message.params = Some(map.next_value::<Params<'de>>()?),
                Key::Name | Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(message)
    }
}

impl<'de> Visitor<'de> for ParamsVisitor {
    type Value = Params<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON-RPC params")
    }

    not_a_map!(Params::NotObject);

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut name = None;
        while let Some(key) = map.next_key::<Key>()? {
            if key == Key::Name {
                name = map.next_value::<MaybeString<'de>>()?.0;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(Params::Object(name))
    }
}

/// An object key, compared where it lies: `Cow<str>` would allocate a `String` for every key
/// (serde only borrows into a `Cow` with `#[serde(borrow)]`), and keys are most of a body's
/// strings. Escaped keys (`"met\u0068od"`) arrive decoded, through `visit_str`.
#[derive(PartialEq, Eq)]
enum Key {
    Method,
    Params,
    Name,
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl Visitor<'_> for KeyVisitor {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
        Ok(match key {
            "method" => Key::Method,
            "params" => Key::Params,
            "name" => Key::Name,
            _ => Key::Other,
        })
    }
}

impl<'de> Visitor<'de> for MaybeStringVisitor {
    type Value = MaybeString<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(MaybeString(Some(Cow::Borrowed(v))))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(MaybeString(Some(Cow::Owned(v.to_owned()))))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(MaybeString(Some(Cow::Owned(v))))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(MaybeString(None))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(MaybeString(None))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(MaybeString(None))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(MaybeString(None))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(MaybeString(None))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(MaybeString(None))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(MaybeString(None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_tools_in_single_and_batch() {
        let mut t = ToolScopes::default();
        t.insert("hello".into(), "greet".parse().unwrap());
        let (tools, needed) = t.requirements(
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"hello"}}"#,
        );
        assert_eq!(
            (tools.to_string(), needed.to_string()),
            ("hello".to_owned(), "greet".to_owned())
        );
        let (tools, needed) = t.requirements(br#"[{"method":"tools/list"},{"method":"tools/call","params":{"name":"whoami"}},{"method":"tools/call","params":{"name":"hello"}}]"#);
        assert_eq!((tools.len(), needed.to_string()), (2, "greet".to_owned()));
        assert_eq!(tools.to_string(), "whoami,hello");
        // One tool's requirement is the configuration's own set, not a copy; several are
        // gathered into a new one.
        let (tools, needed) =
            t.requirements(br#"{"method":"tools/call","params":{"name":"hello"}}"#);
        assert!(matches!(needed, Cow::Borrowed(_)));
        // Names spelled without escapes are read where they lie in the body.
        assert!(matches!(tools.first, Some(Cow::Borrowed("hello"))));
        assert!(tools.rest.is_empty());
        t.insert("admin".into(), "admin".parse().unwrap());
        let (tools, needed) = t.requirements(br#"[{"method":"tools/call","params":{"name":"hello"}},{"method":"tools/call","params":{"name":"admin"}}]"#);
        assert_eq!(
            (tools.to_string(), needed.to_string()),
            ("hello,admin".to_owned(), "admin greet".to_owned())
        );
        assert!(matches!(needed, Cow::Owned(_)));
        assert!(CalledTools::none().is_empty() && CalledTools::none().to_string().is_empty());
        assert!(t.requirements(b"not json").1.is_empty());
    }

    #[test]
    fn unreadable_tool_calls_need_every_tool_scope() {
        let mut t = ToolScopes::default();
        t.insert("hello".into(), "greet".parse().unwrap());
        t.insert("admin".into(), "admin".parse().unwrap());
        for body in [
            &br#"{"method":"tools/call","params":[null,"hello"]}"#[..],
            br#"{"method":"tools/call","params":{"name":5}}"#,
            br#"{"method":"tools/call"}"#,
        ] {
            assert_eq!(
                t.requirements(body).1.to_string(),
                "admin greet",
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        // Escaped spellings decode to the same names.
        let escaped = br#"{"method":"tools\/call","params":{"name":"hel\u006co"}}"#;
        assert_eq!(t.requirements(escaped).1.to_string(), "greet");
    }

    fn two_tools() -> ToolScopes {
        let mut t = ToolScopes::default();
        t.insert("hello".into(), "greet".parse().unwrap());
        t.insert("admin".into(), "admin".parse().unwrap());
        t
    }

    fn shown((tools, needed): Requirements<'_, '_>) -> (Vec<String>, String) {
        (
            tools.names().map(str::to_owned).collect(),
            needed.to_string(),
        )
    }

    /// Asserts that the readings of `body` agree, and returns whether the scanner answered.
    ///
    /// - The scanner answers only for valid JSON, and then exactly as the full parse does.
    /// - The streaming serde path agrees with the full parse on every valid JSON body. On
    ///   invalid JSON the full parse reads nothing, while the streaming path, which skips what
    ///   it does not read with `IgnoredAny` (no UTF-8, number range or depth checks there), may
    ///   still read a call and require its scopes: the fail-closed side.
    /// - The public entry is the scanner where it answers, else the streaming path.
    /// - Where [`ToolScopes::named_in`] says no configured tool is named, none is: no string of
    ///   the parsed body (key or value) is one, and no reading names one.
    fn assert_agree(t: &ToolScopes, body: &[u8]) -> bool {
        let shown_body = String::from_utf8_lossy(body);
        if !t.named_in(body) {
            assert_names_none(t, body);
        }
        let valid = serde_json::from_slice::<Value>(body).is_ok();
        let slow = shown(t.requirements_slow(body));
        let serde = shown(t.requirements_serde(body));
        if valid {
            assert_eq!(serde, slow, "serde: {shown_body}");
        } else {
            assert_eq!(slow, (Vec::new(), String::new()), "slow: {shown_body}");
        }
        assert_eq!(shown(t.requirements(body)), serde, "entry: {shown_body}");
        match scan_single(body) {
            Some(call) => {
                assert!(valid, "scan of invalid JSON: {shown_body}");
                assert_eq!(
                    shown(t.collect(call.into_iter())),
                    slow,
                    "scan: {shown_body}"
                );
                true
            }
            None => false,
        }
    }

    /// Asserts that no reading of `body` meets a configured tool's name.
    fn assert_names_none(t: &ToolScopes, body: &[u8]) {
        fn strings<'v>(value: &'v Value, out: &mut Vec<&'v str>) {
            match value {
                Value::String(text) => out.push(text),
                Value::Array(items) => items.iter().for_each(|item| strings(item, out)),
                Value::Object(map) => {
                    for (key, item) in map {
                        out.push(key);
                        strings(item, out);
                    }
                }
                _ => {}
            }
        }
        let shown_body = String::from_utf8_lossy(body);
        let configured = |name: &str| t.scopes.contains_key(name);
        if let Ok(value) = serde_json::from_slice::<Value>(body) {
            let mut all = Vec::new();
            strings(&value, &mut all);
            assert!(
                !all.into_iter().any(configured),
                "named_in missed: {shown_body}"
            );
        }
        for (tools, _) in [t.requirements_serde(body), t.requirements_slow(body)] {
            assert!(
                !tools.names().any(configured),
                "named_in missed: {shown_body}"
            );
        }
    }

    #[test]
    fn a_body_names_a_tool_only_in_quotes_or_with_an_escape() {
        let t = two_tools();
        for (body, named) in [
            (
                &br#"{"method":"tools/call","params":{"name":"whoami"}}"#[..],
                false,
            ),
            (br#"{"method":"tools/list"}"#, false),
            // Unreadable, but no reading of it can reach a configured tool.
            (br#"{"method":"tools/call","params":{"name":5}}"#, false),
            (
                br#"{"method":"tools/call","params":{"name":"hello2"}}"#,
                false,
            ),
            (
                br#"{"method":"tools/call","params":{"name":"hello"}}"#,
                true,
            ),
            (br#"{"method":"tools/call","params":[null,"admin"]}"#, true),
            (
                br#"{"method":"tools/call","params":{"name":"whoami"},"x":"hello"}"#,
                true,
            ),
            // An escape anywhere may spell a name: the full reading decides.
            (
                br#"{"method":"tools/call","params":{"name":"hel\u006co"}}"#,
                true,
            ),
            (
                br#"{"method":"tools/call","params":{"name":"who\u0061mi"}}"#,
                true,
            ),
        ] {
            assert_eq!(t.named_in(body), named, "{}", String::from_utf8_lossy(body));
            if !named {
                assert_names_none(&t, body);
            }
        }
        // A name JSON must escape is only ever spelled with a backslash.
        let mut quote = ToolScopes::default();
        quote.insert("say \"hi\"".into(), "greet".parse().unwrap());
        let body = br#"{"method":"tools/call","params":{"name":"say \"hi\""}}"#;
        assert!(quote.named_in(body));
        assert_eq!(quote.requirements(body).1.to_string(), "greet");
    }

    /// `depth` nested arrays around `null`, as a call's argument.
    fn nested_arguments(depth: usize) -> Vec<u8> {
        let mut body =
            br#"{"method":"tools/call","params":{"name":"hello","arguments":{"x":"#.to_vec();
        body.extend(std::iter::repeat_n(b'[', depth));
        body.extend_from_slice(b"null");
        body.extend(std::iter::repeat_n(b']', depth));
        body.extend_from_slice(b"}}}");
        body
    }

    #[test]
    fn streaming_and_full_parse_agree() {
        let t = two_tools();
        // Each body, and whether the scanner reads it (the rest is left to serde).
        let bodies: &[(&[u8], bool)] = &[
            (br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"hello","arguments":{"x":[1,{"y":null}]}}}"#, true),
            (br#"{"method":"tools\/call","params":{"name":"hel\u006co"}}"#, false),
            (br#"{"met\u0068od":"tools/call","par\u0061ms":{"n\u0061me":"hello"}}"#, false),
            (br#"{"method":"tools/call","params":{"name":"hello"},"methods":"x","Name":"y"}"#, true),
            (br#"{"method":"tools/call","method":"ping","params":{"name":"hello"}}"#, true),
            (br#"{"method":"ping","method":"tools/call","params":{"name":"hello"}}"#, true),
            (br#"{"method":"tools/call","method":7,"params":{"name":"hello"}}"#, true),
            (br#"{"method":"tools/call","params":[null,"hello"]}"#, true),
            (br#"{"method":"tools/call","params":{"name":"hello","name":"whoami"}}"#, true),
            (br#"{"method":"tools/call","params":{"name":"hello","name":null}}"#, true),
            (br#"{"method":"tools/call","params":{"name":"whoami"},"params":{"name":"admin"}}"#, true),
            (br#"{"method":"tools/call","params":{"name":"whoami"},"params":[]}"#, true),
            (br#"{"method":"tools/call","params":{"name":5}}"#, true),
            (br#"{"method":"tools/call","params":"hello"}"#, true),
            (br#"{"method":"tools/call","params":null}"#, true),
            (br#"{"method":"tools/call","params":{}}"#, true),
            (br#"{"method":7,"params":{"name":"hello"}}"#, true),
            (br#"{"method":null,"params":{"name":"hello"}}"#, true),
            (br#"{"method":["tools/call"],"params":{"name":"hello"}}"#, true),
            (br#"{"method":{"method":"tools/call"},"params":{"name":"hello"}}"#, true),
            (br#"{"method":"tools/call "}"#, true),
            (br#"{"method":"Tools/call","params":{"name":"hello"}}"#, true),
            (br#"{"method":"tools/call"}"#, true),
            (br#"{"params":{"name":"hello"},"method":"tools/call"}"#, true),
            (br#"{"name":"hello","method":"tools/call","params":{"arguments":{"name":"admin"}}}"#, true),
            (br#"{"method":"tools/list","params":{"name":"hello"}}"#, true),
            (br#"{}"#, true),
            (b" \t\r\n{ \"method\" :\t\"tools/call\" ,\n\"params\"\r:{ \"name\" : \"hello\" , \"arguments\" : { } } }\n\r\t ", true),
            (br#"{ "method" : "tools/call" , "params" : [ 1 , [ ] , { } , { "a" : [ true ] } ] }"#, true),
            (br#"{"method":"tools/call","params":{"name":"hello","arguments":{"a":[1,[2,[3,{}]],{"b":{"c":[]}}],"d":[[],[[]]],"e":{}}}}"#, true),
            // Numbers, valid...
            (br#"{"method":"tools/call","params":{"name":"hello","arguments":[0,-0,1E+5,-0.0e-0,12.5e10,1e-99,2E99,0.5,-7,1234567890123456789012345678901234567890]}}"#, true),
            // ...and not.
            (br#"{"method":"tools/call","params":{"name":"hello","arguments":[01]}}"#, false),
            (br#"{"method":"tools/call","params":{"name":"hello","arguments":[-01]}}"#, false),
            (br#"{"method":"tools/call","params":{"name":"hello","arguments":[1.]}}"#, false),
            (br#"{"method":"tools/call","params":{"name":"hello","arguments":[1.e5]}}"#, false),
            (br#"{"method":"tools/call","params":{"name":"hello","arguments":[.5]}}"#, false),
            (br#"{"method":"tools/call","params":{"name":"hello","arguments":[-]}}"#, false),
            (br#"{"method":"tools/call","params":{"name":"hello","arguments":[--1]}}"#, false),
            (br#"{"method":"tools/call","params":{"name":"hello","arguments":[+1]}}"#, false),
            (br#"{"method":"tools/call","params":{"name":"hello","arguments":[1e]}}"#, false),
            (br#"{"method":"tools/call","params":{"name":"hello","arguments":[1e+]}}"#, false),
            (br#"{"method":"tools/call","params":{"name":"hello","arguments":[1x]}}"#, false),
            (br#"{"method":"tools/call","params":{"name":"hello","arguments":[0x10]}}"#, false),
            (br#"{"method":"tools/call","params":{"name":"hello","arguments":[NaN]}}"#, false),
            (br#"{"method":"tools/call","params":{"name":"hello","arguments":[Infinity]}}"#, false),
            // Valid, but too large for the scanner to vouch for (the last two are out of range).
            (br#"{"method":"tools/call","params":{"name":"hello","arguments":[1e100]}}"#, false),
            (br#"{"method":"tools/call","params":{"name":"hello","arguments":[1e400]}}"#, false),
            (br#"{"method":"tools/call","params":{"name":"hello","arguments":[-1e400]}}"#, false),
            // Literals and misspellings.
            (br#"{"method":"tools/call","params":{"name":"hello","arguments":[true,false,null]}}"#, true),
            (br#"{"method":"tools/call","params":{"name":"hello","arguments":[tru]}}"#, false),
            (br#"{"method":"tools/call","params":{"name":"hello","arguments":[nul]}}"#, false),
            (br#"{"method":"tools/call","params":{"name":"hello","arguments":[nulll]}}"#, false),
            (br#"{"method":"tools/call","params":{"name":"hello","arguments":[fals]}}"#, false),
            (br#"{"method":"tools/call","params":{"name":"hello","arguments":[True]}}"#, false),
            (br#"{"method":"tools/call","params":{"name":"hello","arguments":[truefalse]}}"#, false),
            // Not one plain object.
            (br#"  [{"method":"tools/call","params":{"name":"whoami"}},{"method":"tools/call","params":{"name":"hello"}}]"#, false),
            (br#"[1, "x", null, [], {"method":"tools/call","params":{"name":"hello"}}]"#, false),
            (br#"[]"#, false),
            (br#""tools/call""#, false),
            (br#"null"#, false),
            (b"", false),
            (b" \n", false),
            (b"\x0c{\"method\":\"tools/call\",\"params\":{\"name\":\"hello\"}}", false),
            (br#"not json"#, false),
            // Broken syntax.
            (br#"{"method":"tools/call","params":{"name":"hello"}} trailing"#, false),
            (br#"{"method":"tools/call","params":{"name":"hello"}}{}"#, false),
            (br#"{"method":"tools/call","params":{"name":"hello"}}}"#, false),
            (br#"{"method":"tools/call","params":{"name":"hello"},}"#, false),
            (br#"{"method":"tools/call","params":{"name":"hello","arguments":[1,]}}"#, false),
            (br#"{"a":1,}"#, false),
            (br#"{,}"#, false),
            (br#"{"method" "tools/call","params":{"name":"hello"}}"#, false),
            (br#"{"method":"tools/call" "params":{"name":"hello"}}"#, false),
            (br#"{"method":"tools/call","params":{"name":"hello"]}"#, false),
            (br#"{"method":"tools/call","params":{"name":"hello"}"#, false),
            (br#"{"method":"tools/call","params":{"name":"hello}}"#, false),
            (br#"{"method":"tools/call","params":{"name":"hello"#, false),
            (br#"{"method":"tools/call","params":{"name":"hello","arguments":{"a":1:2}}}"#, false),
            (br#"{"method":"tools/call","params":{"name":"hello","arguments":{1:2}}}"#, false),
            (br#"{'method':'tools/call','params':{'name':'hello'}}"#, false),
            (br#"{"method":"tools/call",/*c*/"params":{"name":"hello"}}"#, false),
            (br#"{"method":"tools/call","params":{"name":"hello"}"#, false),
            // Escapes anywhere, even where they would not matter.
            (br#"{"method":"tools/call","params":{"name":"hello","arguments":{"q":"a\"b"}}}"#, false),
            (br#"{"method":"tools/call","params":{"name":"hello","arguments":{"q":"\ud800"}}}"#, false),
            (br#"{"method":"tools/call","params":{"name":"hello","arguments":{"q":"\x"}}}"#, false),
            // Control characters in strings, raw tab included: invalid JSON.
            (b"{\"method\":\"tools/call\",\"params\":{\"name\":\"hel\x01lo\"}}", false),
            (b"{\"method\":\"tools/call\",\"params\":{\"name\":\"hel\tlo\"}}", false),
            (b"{\"method\":\"tools/call\",\"params\":{\"name\":\"hello\",\"arguments\":{\"q\":\"a\nb\"}}}", false),
            (b"{\"method\":\"tools/call\",\"params\":{\"name\":\"hello\",\"arguments\":{\"q\x1f\":1}}}", false),
            // A DEL is no control character to JSON.
            (b"{\"method\":\"tools/call\",\"params\":{\"name\":\"hello\",\"arguments\":{\"q\":\"a\x7fb\"}}}", true),
            // Non-ASCII: valid UTF-8 in strings is read, anything else is not.
            ("{\"method\":\"tools/call\",\"params\":{\"name\":\"héllo\"}}".as_bytes(), true),
            ("{\"method\":\"tools/call\",\"params\":{\"name\":\"hello\",\"arguments\":{\"日本\":\"😀\"}}}".as_bytes(), true),
            (b"{\"method\":\"tools/call\",\"params\":{\"name\":\"hello\xff\"}}", false),
            (b"{\"method\":\"tools/call\",\"params\":{\"name\":\"hello\",\"arguments\":{\"q\":\"\xc0\xaf\"}}}", false),
            (b"{\"method\":\"tools/call\",\"params\":{\"name\":\"hello\",\"arguments\":{\"q\":\"\xed\xa0\x80\"}}}", false),
            (b"{\"method\":\"tools/call\",\"params\":{\"name\":\"hello\",\"arguments\":{\"q\":\"\xc3\"}}}", false),
            (b"{\"method\":\"tools/call\",\"params\":{\"name\":\"hello\"}}\xc2\xa0", false),
            ("{\"method\":\"tools/call\",\"params\":{\"name\":\"hello\"}}\u{a0}".as_bytes(), false),
        ];
        for &(body, scanned) in bodies {
            assert_eq!(
                assert_agree(&t, body),
                scanned,
                "scanner answers: {}",
                String::from_utf8_lossy(body)
            );
        }
        // Nesting: the scanner reads up to 64 levels (the message, `params` and `arguments` are
        // three) and leaves deeper bodies to serde, which fails them past 128.
        for (depth, scanned) in [(61, true), (62, false), (126, false), (200, false)] {
            assert_eq!(
                assert_agree(&t, &nested_arguments(depth)),
                scanned,
                "depth {depth}"
            );
        }
    }

    /// Invalid JSON that only the skipped parts make invalid: the full parse reads nothing, the
    /// streaming path (which the scanner leaves these to) still reads the call and requires its
    /// scopes. Pinned so that a change to either side is a deliberate one.
    #[test]
    fn invalid_json_in_skipped_values_fails_closed() {
        let t = two_tools();
        for body in [
            br#"{"method":"tools/call","params":{"name":"hello","arguments":{"x":1e400}}}"#.to_vec(),
            b"{\"method\":\"tools/call\",\"params\":{\"name\":\"hello\",\"arguments\":{\"x\":\"\xff\"}}}".to_vec(),
            nested_arguments(200),
        ] {
            let shown_body = String::from_utf8_lossy(&body);
            assert!(scan_single(&body).is_none(), "{shown_body}");
            assert!(t.requirements_slow(&body).0.is_empty(), "{shown_body}");
            assert_eq!(
                shown(t.requirements(&body)),
                (vec!["hello".to_owned()], "greet".to_owned()),
                "{shown_body}"
            );
        }
    }

    /// The scanner must answer for the bodies clients typically send, or it saves nothing.
    #[test]
    fn scanner_reads_typical_bodies() {
        let t = two_tools();
        let bodies: &[(&[u8], Option<&str>)] = &[
            (br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{}}}"#, Some("whoami")),
            (br#"{"jsonrpc":"2.0","id":"a7","method":"tools/call","params":{"name":"hello","arguments":{"who":"world","times":3,"loud":false,"tags":["a","b"],"opts":{"lang":"en","ratio":0.75,"extra":null}},"_meta":{"progressToken":12}}}"#, Some("hello")),
            (b"{\n  \"jsonrpc\": \"2.0\",\n  \"id\": 2,\n  \"method\": \"tools/call\",\n  \"params\": {\n    \"name\": \"admin\",\n    \"arguments\": { \"n\": -1.5e3 }\n  }\n}\n", Some("admin")),
            (br#"{"jsonrpc":"2.0","id":3,"method":"tools/list","params":{"cursor":"abc"}}"#, None),
            (br#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{"roots":{"listChanged":true},"sampling":{},"elicitation":{}},"clientInfo":{"name":"example-client","version":"1.0.0"}}}"#, None),
            (br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#, None),
            (br#"{"jsonrpc":"2.0","id":4,"result":{"content":[{"type":"text","text":"hi"}],"isError":false}}"#, None),
            (br#"{"jsonrpc":"2.0","id":5,"method":"ping"}"#, None),
        ];
        for &(body, tool) in bodies {
            let shown_body = String::from_utf8_lossy(body);
            let call = scan_single(body).unwrap_or_else(|| panic!("scanner bailed: {shown_body}"));
            match (call, tool) {
                (Some(Target::Named(name)), Some(tool)) => {
                    assert_eq!(name, tool);
                    // Borrowed from the body, not copied.
                    assert!(matches!(name, Cow::Borrowed(_)), "{shown_body}");
                }
                (None, None) => {}
                _ => panic!("wrong call: {shown_body}"),
            }
            assert!(assert_agree(&t, body));
        }
    }

    /// A tiny xorshift generator: reproducible randomness without a dependency.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        /// Roughly uniform in `0..n` (`n` is small here, so the modulo bias does not matter).
        fn below(&mut self, n: usize) -> usize {
            usize::try_from(self.next() % n as u64).unwrap()
        }
    }

    /// Randomly damaged realistic bodies: wherever the scanner answers it must agree with the
    /// full parse (see `assert_agree` for the rest).
    #[test]
    fn scanner_agrees_on_mutated_bodies() {
        let t = two_tools();
        let seeds: &[&[u8]] = &[
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{}}}"#,
            br#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"hello","arguments":{"who":"world","n":[1,-2.5,3e7],"ok":true,"none":null}}}"#,
            br#"{"method":"tools/call","params":{"name":"admin"}}"#,
            br#"{ "params" : { "arguments" : { "a" : [ { } , [ ] ] } , "name" : "hello" } , "method" : "tools/call" }"#,
            br#"{"method":"tools/call","params":{"name":"hello","name":"admin"},"method":"tools/call"}"#,
            br#"{"jsonrpc":"2.0","id":3,"method":"tools/list","params":{}}"#,
            br#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"c","version":"1.0"}}}"#,
            br#"{"method":"tools/call","params":[null,"hello"],"id":-0.0e-0}"#,
            br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            br#"[{"method":"tools/call","params":{"name":"hello"}},{"method":"ping"}]"#,
        ];
        let alphabet = b"{}[]\",:\\ 0123456789-.eEtfnulr\ttools/callmethodparamsname\xc3\xa9";
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let (mut scanned, mut unnamed, iterations) = (0, 0, 20_000);
        for _ in 0..iterations {
            let mut body = seeds[rng.below(seeds.len())].to_vec();
            for _ in 0..=rng.below(3) {
                let at = rng.below(body.len() + 1);
                let byte = alphabet[rng.below(alphabet.len())];
                match rng.below(3) {
                    0 if at < body.len() => {
                        body.remove(at);
                    }
                    1 if at < body.len() => body[at] = byte,
                    _ => body.insert(at, byte),
                }
            }
            scanned += usize::from(assert_agree(&t, &body));
            unnamed += usize::from(!t.named_in(&body));
        }
        // Many bodies name no configured tool: `named_in` was put to the test as well.
        assert!(
            unnamed > iterations / 5,
            "named_in said no for {unnamed} of {iterations}"
        );
        // The mutations leave many bodies valid: the scanner's answers were put to the test.
        assert!(
            scanned > iterations / 5,
            "scanner answered {scanned} of {iterations}"
        );
    }
}
