//! Scope requirements per MCP tool, enforced at the HTTP layer so a client can step up.
//!
//! A `tools/call` for a tool whose scopes the token lacks is answered `403` with
//! `WWW-Authenticate: Bearer error="insufficient_scope", scope="<needed>"` before it reaches the
//! MCP server: the MCP authorization spec's "Scope Challenge Handling", which clients answer by
//! asking the authorization server for the extra scope.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::scope::Scopes;

/// Tool name to the scopes it needs.
#[derive(Debug, Clone, Default)]
pub(crate) struct ToolScopes(HashMap<String, Scopes>);

impl ToolScopes {
    /// Every scope any tool needs: what an unreadable `tools/call` must carry.
    fn all(&self) -> Scopes {
        let mut all = Scopes::new();
        for scopes in self.0.values() {
            all.extend(scopes);
        }
        all
    }

    pub(crate) fn insert(&mut self, tool: String, scopes: Scopes) {
        self.0.entry(tool).or_default().extend(&scopes);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The tools called by a JSON-RPC message (or batch), and the scopes they need together.
    /// A body that is not JSON yields nothing: the MCP server will refuse it itself.
    pub(crate) fn requirements(&self, body: &[u8]) -> (Vec<String>, Scopes) {
        // Fast path: a streaming read of `method` and `params.name` only, with exactly the
        // semantics of the full parse below (last duplicate key wins, anything but a string
        // `method` is not a call, a call whose name cannot be read needs every tool scope),
        // without building a JSON value. Bodies it cannot read fall back to the full parse.
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

    fn collect<'n>(&self, calls: impl Iterator<Item = Target<'n>>) -> (Vec<String>, Scopes) {
        let mut tools = Vec::new();
        let mut needed = Scopes::new();
        for call in calls {
            match call {
                Target::Named(name) => {
                    if let Some(scopes) = self.0.get(name.as_ref()) {
                        needed.extend(scopes);
                    }
                    tools.push(name.into_owned());
                }
                // A `tools/call` whose tool cannot be read here (params by position, a name
                // that is not a string) might still be understood by the MCP server's own
                // parser, so it must carry every tool scope: fail closed.
                Target::Unreadable => {
                    needed.extend(&self.all());
                    tools.push("?".to_owned());
                }
            }
        }
        (tools, needed)
    }

    /// The full parse into a JSON value: the reference semantics.
    fn requirements_slow(&self, body: &[u8]) -> (Vec<String>, Scopes) {
        let Ok(message) = serde_json::from_slice::<Value>(body) else {
            return (Vec::new(), Scopes::new());
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
                    Some(Value::String(name)) => Target::Named(Cow::Borrowed(name.as_str())),
                    _ => Target::Unreadable,
                },
            )
        }))
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
            (tools, needed.to_string()),
            (vec!["hello".to_owned()], "greet".to_owned())
        );
        let (tools, needed) = t.requirements(br#"[{"method":"tools/list"},{"method":"tools/call","params":{"name":"whoami"}},{"method":"tools/call","params":{"name":"hello"}}]"#);
        assert_eq!((tools.len(), needed.to_string()), (2, "greet".to_owned()));
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

    #[test]
    fn streaming_and_full_parse_agree() {
        let mut t = ToolScopes::default();
        t.insert("hello".into(), "greet".parse().unwrap());
        t.insert("admin".into(), "admin".parse().unwrap());
        let bodies: &[&[u8]] = &[
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"hello","arguments":{"x":[1,{"y":null}]}}}"#,
            br#"{"method":"tools\/call","params":{"name":"hel\u006co"}}"#,
            br#"{"met\u0068od":"tools/call","par\u0061ms":{"n\u0061me":"hello"}}"#,
            br#"{"method":"tools/call","params":{"name":"hello"},"methods":"x","Name":"y"}"#,
            br#"{"method":"tools/call","method":"ping","params":{"name":"hello"}}"#,
            br#"{"method":"ping","method":"tools/call","params":{"name":"hello"}}"#,
            br#"{"method":"tools/call","params":[null,"hello"]}"#,
            br#"{"method":"tools/call","params":{"name":"hello","name":"whoami"}}"#,
            br#"{"method":"tools/call","params":{"name":"whoami"},"params":{"name":"admin"}}"#,
            br#"{"method":"tools/call","params":{"name":5}}"#,
            br#"{"method":"tools/call","params":"hello"}"#,
            br#"{"method":7,"params":{"name":"hello"}}"#,
            br#"{"method":"tools/call"}"#,
            br#"  [{"method":"tools/call","params":{"name":"whoami"}},{"method":"tools/call","params":{"name":"hello"}}]"#,
            br#"[1, "x", null, [], {"method":"tools/call","params":{"name":"hello"}}]"#,
            br#"[]"#,
            br#"{}"#,
            br#"not json"#,
            br#"{"method":"tools/call","params":{"name":"hello"}} trailing"#,
        ];
        for body in bodies {
            let fast = t.requirements(body);
            let slow = t.requirements_slow(body);
            assert_eq!(
                (fast.0, fast.1.to_string()),
                (slow.0, slow.1.to_string()),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
