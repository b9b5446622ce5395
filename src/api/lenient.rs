//! Reading lists tolerantly (the robustness principle): one object the
//! client cannot read never hides the others. A page is decoded strictly
//! first, which costs nothing when all is well; only when that fails is it
//! decoded item by item, and the items that still fail are kept as
//! [`Unreadable`], with their id and name where those can be read, for the
//! caller to report against the object they belong to.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// An object of a list that could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unreadable {
    /// Its id, as the server spelt it, when it has one.
    pub id: Option<String>,
    /// Its name, when it has one.
    pub name: Option<String>,
    /// Why it could not be read, with the field.
    pub reason: String,
}

/// The keys a vendor object's id is under, and its name.
const ID_KEYS: [&str; 3] = ["id", "companyId", "subscriptionId"];
const NAME_KEYS: [&str; 2] = ["name", "companyName"];

impl Unreadable {
    fn of(value: &Value, reason: String) -> Self {
        let text = |keys: &[&str]| {
            keys.iter()
                .find_map(|key| value.get(*key))
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
        };
        Unreadable {
            id: text(&ID_KEYS),
            name: text(&NAME_KEYS),
            reason,
        }
    }

    /// Whether this is the object of id `id` (compared as the vendors do:
    /// case and hyphens aside).
    pub fn is(&self, id: &str) -> bool {
        let plain = |text: &str| text.replace('-', "").to_ascii_lowercase();
        self.id
            .as_deref()
            .is_some_and(|mine| plain(mine) == plain(id))
    }

    /// `id 3f… (name): reason`, for warnings and errors.
    pub fn describe(&self) -> String {
        let id = self.id.as_deref().unwrap_or("without an id");
        match &self.name {
            Some(name) => format!("{id} ({name}): {}", self.reason),
            None => format!("{id}: {}", self.reason),
        }
    }
}

/// One item of a list, read on its own.
pub struct Lenient<T>(pub Result<T, Unreadable>);

impl<'de, T: DeserializeOwned> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        let item = serde_path_to_error::deserialize(&value).map_err(|err| {
            let path = err.path().to_string();
            let inner = err.into_inner();
            Unreadable::of(&value, format!("at `{path}`: {inner}"))
        });
        Ok(Lenient(item))
    }
}

/// The objects of a listing that were read, and those that could not be.
#[derive(Debug)]
pub struct Read<T> {
    pub items: Vec<T>,
    pub unreadable: Vec<Unreadable>,
}

impl<T> Read<T> {
    /// Every object read (a strict decode succeeded).
    pub fn all(items: Vec<T>) -> Self {
        Read {
            items,
            unreadable: Vec::new(),
        }
    }

    /// Adds what another page read.
    pub fn extend(&mut self, other: Read<T>) {
        self.items.extend(other.items);
        self.unreadable.extend(other.unreadable);
    }

    /// The objects read; those that could not be are logged as warnings.
    pub fn warned(self, what: &str) -> Vec<T> {
        for bad in &self.unreadable {
            tracing::warn!(
                "a {what} could not be read and is left out: {}",
                bad.describe()
            );
        }
        self.items
    }
}

/// The items read, and those that could not be.
impl<T> From<Vec<Lenient<T>>> for Read<T> {
    fn from(items: Vec<Lenient<T>>) -> Self {
        let mut read = Read::all(Vec::with_capacity(items.len()));
        for Lenient(item) in items {
            match item {
                Ok(item) => read.items.push(item),
                Err(bad) => read.unreadable.push(bad),
            }
        }
        read
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Thing {
        id: String,
        size: u32,
    }

    #[test]
    fn one_bad_item_is_set_aside_with_its_id_name_and_field() {
        let items: Vec<Lenient<Thing>> = serde_json::from_str(
            r#"[{"id":"a","size":1},{"id":"B-2","name":"big","size":4294967296},{"size":"x"}]"#,
        )
        .unwrap();
        let Read {
            items: read,
            unreadable,
        } = Read::from(items);
        assert_eq!(
            read,
            [Thing {
                id: "a".into(),
                size: 1
            }]
        );
        assert_eq!(unreadable.len(), 2);
        assert!(unreadable[0].is("b2"));
        assert_eq!(unreadable[0].name.as_deref(), Some("big"));
        assert!(
            unreadable[0].reason.starts_with("at `size`"),
            "{:?}",
            unreadable[0]
        );
        assert_eq!(unreadable[1].id, None);
        assert!(unreadable[1].describe().starts_with("without an id: "));
    }
}
