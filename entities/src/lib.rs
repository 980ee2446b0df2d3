//! SeaORM models of the three domain databases. No GraphQL here: the API has its own types.
//!
//! Ids that point into another domain's database (a course's teacher, a project's owner)
//! are plain integer columns: no foreign key crosses a database.

pub mod academic;
pub mod projects;
pub mod users;
