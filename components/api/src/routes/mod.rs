//! The HTTP surface: thin handlers (read the request, call the domain, shape the answer), one file per area, and the
//! route table ([`table`]) that dispatches to them and that `/openapi.json` is checked against.
//!
//! - The operator's endpoints ([`operations`]); accounts and the user's own data ([`accounts`]); login and its
//!   second-factor challenge ([`login`]); the current session, step-up and the user's sessions ([`session`]); second
//!   factors ([`mfa`], passkeys in [`passkeys`]) and the consent they need ([`consent`]); trusted devices
//!   ([`trusted_devices`]); the product backend's service API ([`service`]).
//! - Shared: who is calling ([`caller`]); what handlers answer and the views they show ([`answer`]).

pub mod accounts;
pub mod answer;
pub mod caller;
pub mod consent;
pub mod login;
pub mod mfa;
pub mod operations;
pub mod passkeys;
pub mod service;
pub mod session;
pub mod table;
pub mod trusted_devices;
