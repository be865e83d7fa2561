//! Data files (specs, tutorials) read with serde from our own YAML tree.
//!
//! Why not a YAML crate: the core already reads YAML (`yaml.rs`, with its limits on
//! hostile input), it must build for wasm32, and one reader means the playground and the
//! tests read a spec the same way. A small serde `Deserializer` over [`Node`] is enough:
//! plain scalars are typed YAML 1.2 style (`true`, numbers, `null`), quoted ones are
//! strings, and an error names the line it happened at.

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, Visitor};

use super::lines::Lines;
use super::yaml::{self, Node, Value};
use crate::diagnostic::{Diagnostic, FileId};

/// Reads the first YAML document of `text` as a `T`. A syntax error, an empty text or a
/// value of the wrong shape is one error diagnostic with the place it was found.
pub fn from_yaml<T: DeserializeOwned>(file: FileId, text: &str) -> Result<T, Diagnostic> {
    let lines = Lines::new(file, text);
    let mut diagnostics = Vec::new();
    let mut first: Option<Node> = None;
    let mut seen = false;
    yaml::parse_stream(&lines, text, &mut diagnostics, &mut |doc| {
        if !seen {
            seen = true;
            first = doc.root;
        }
    });
    if let Some(d) = diagnostics.into_iter().next() {
        return Err(d);
    }
    let Some(root) = first else {
        return Err(
            Diagnostic::error("invalid-data", Some(lines.span(0, 0)), "the text is empty")
                .with_help("write a YAML mapping"),
        );
    };
    T::deserialize(Reader(&root)).map_err(|e| {
        let at = e.at.unwrap_or(root.start);
        Diagnostic::error(
            "invalid-data",
            Some(lines.span(at, at)),
            lower_first(&e.message),
        )
        .with_help("see docs/review.md for the spec format")
    })
}

fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A deserialization error and the byte offset of the innermost node it concerns.
#[derive(Debug)]
pub struct Error {
    message: String,
    at: Option<usize>,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Error {
            message: msg.to_string(),
            at: None,
        }
    }
}

impl Error {
    /// Places the error at `at` unless a deeper node already placed it.
    fn at(mut self, at: usize) -> Error {
        self.at.get_or_insert(at);
        self
    }
}

/// The deserializer for one node.
struct Reader<'n>(&'n Node);

impl Reader<'_> {
    fn text(&self) -> Result<&str, Error> {
        self.0.as_str().ok_or_else(|| {
            de::Error::custom(format!("expected a string, found {}", self.0.describe()))
        })
    }

    fn parse<N: std::str::FromStr>(&self, what: &str) -> Result<N, Error> {
        let text = self.text()?;
        text.parse()
            .map_err(|_| de::Error::custom(format!("expected {what}, found `{text}`")))
    }
}

macro_rules! numbers {
    ($($method:ident $visit:ident $ty:ty),*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            visitor.$visit(self.parse::<$ty>("a number")?)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for Reader<'_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match &self.0.value {
            Value::Null => visitor.visit_unit(),
            Value::Scalar { text, plain: false } => visitor.visit_str(text),
            Value::Scalar { text, plain: true } => match text.as_str() {
                "true" => visitor.visit_bool(true),
                "false" => visitor.visit_bool(false),
                "null" | "~" => visitor.visit_unit(),
                t => {
                    if let Ok(n) = t.parse::<u64>() {
                        visitor.visit_u64(n)
                    } else if let Ok(n) = t.parse::<i64>() {
                        visitor.visit_i64(n)
                    } else if let Ok(x) = t.parse::<f64>() {
                        visitor.visit_f64(x)
                    } else {
                        visitor.visit_str(t)
                    }
                }
            },
            Value::Seq(items) => visitor.visit_seq(Items(items.iter())),
            Value::Map(entries) => visitor.visit_map(Entries {
                entries: entries.iter(),
                value: None,
            }),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.0.is_null() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_str(self.text()?)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_bool(self.parse::<bool>("true or false")?)
    }

    numbers!(
        deserialize_u8 visit_u8 u8, deserialize_u16 visit_u16 u16, deserialize_u32 visit_u32 u32,
        deserialize_u64 visit_u64 u64, deserialize_i8 visit_i8 i8, deserialize_i16 visit_i16 i16,
        deserialize_i32 visit_i32 i32, deserialize_i64 visit_i64 i64,
        deserialize_f32 visit_f32 f32, deserialize_f64 visit_f64 f64
    );

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let text = self.text()?;
        visitor.visit_enum(IntoDeserializer::<Error>::into_deserializer(text))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        char bytes byte_buf unit unit_struct seq tuple tuple_struct map struct i128 u128
    }
}

struct Items<'n>(std::slice::Iter<'n, Node>);

impl<'de> de::SeqAccess<'de> for Items<'_> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        match self.0.next() {
            None => Ok(None),
            Some(node) => seed
                .deserialize(Reader(node))
                .map(Some)
                .map_err(|e| e.at(node.start)),
        }
    }
}

struct Entries<'n> {
    entries: std::slice::Iter<'n, (Node, Node)>,
    value: Option<&'n Node>,
}

impl<'de> de::MapAccess<'de> for Entries<'_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        match self.entries.next() {
            None => Ok(None),
            Some((key, value)) => {
                self.value = Some(value);
                seed.deserialize(Reader(key))
                    .map(Some)
                    .map_err(|e| e.at(key.start))
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let node = self
            .value
            .take()
            .ok_or_else(|| <Error as de::Error>::custom("a value without a key"))?;
        seed.deserialize(Reader(node)).map_err(|e| e.at(node.start))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assert::Spec;

    #[test]
    fn reads_a_spec_and_places_errors() {
        let spec: Spec = from_yaml(
            FileId(3),
            "default: deny\nexpectations:\n- name: a\n  from: x/a\n  to: {pod: {app: web}}\n  port: 8080\n  expect: allowed\n",
        )
        .unwrap();
        assert!(spec.default_deny);
        assert_eq!(
            spec.expectations[0].port.as_ref().unwrap().to_string(),
            "8080/TCP"
        );
        let err = from_yaml::<Spec>(
            FileId(3),
            "expectations:\n- name: a\n  to: x/a\n  expcet: allowed\n",
        )
        .unwrap_err();
        assert_eq!(err.code, "invalid-data");
        assert!(err.message.contains("expcet"), "{}", err.message);
        assert_eq!(err.span.unwrap().line, 4, "at the misspelt key");
        let err = from_yaml::<Spec>(FileId(3), "expectations: [\n").unwrap_err();
        assert_eq!(err.code, "yaml-syntax");
    }
}
