//! The service's rules and flows, with typed inputs and outputs and the request's time passed in ([`context`]):
//! never an HTTP request or answer, and never SQL (that is [`crate::store`]). Every function answers
//! [`error::Error`] when it refuses.
//!
//! - Who is asking ([`auth`]); accounts and passwords ([`accounts`], [`password`]); password login
//!   ([`login`]) under the guessing limits ([`throttles`]) and the new session it makes ([`new_session`], with the
//!   user's [`devices`]); second factors as one feature ([`mfa`]), their enforcement ([`enforcement`]) and the
//!   consent they need ([`consent`]); trusted devices ([`trusted_devices`]).
//! - Sessions ([`sessions`]); the security-event trail ([`events`]); the user's own data ([`privacy`]); the
//!   product backend's service API ([`service`]); the operator's endpoints ([`operations`]).

pub mod accounts;
pub mod auth;
pub mod consent;
pub mod context;
pub mod devices;
pub mod enforcement;
pub mod error;
pub mod events;
pub mod login;
pub mod mfa;
pub mod new_session;
pub mod operations;
pub mod password;
pub mod privacy;
pub mod service;
pub mod sessions;
pub mod throttles;
pub mod trusted_devices;
