//! Enums whose values are stored as strings in a reference table (roles, database
//! engines, stage statuses): the plain Rust enum the services use, and its stored
//! spelling in both directions. The GraphQL layer mirrors each one with
//! `#[graphql(remote = …)]`.

/// Declares an enum and its stored spelling in both directions.
macro_rules! stored_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $db:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// The value as stored in the database.
            pub fn as_db(self) -> &'static str {
                match self {
                    $($name::$variant => $db),+
                }
            }

            /// The value stored as `stored`, if it is one.
            pub fn from_db(stored: &str) -> Result<Self, crate::error::ServiceError> {
                match stored {
                    $($db => Ok($name::$variant),)+
                    other => Err(crate::error::ServiceError::Corrupt(format!(
                        "{} has no value {other:?}",
                        stringify!($name)
                    ))),
                }
            }
        }
    };
}

pub(crate) use stored_enum;
