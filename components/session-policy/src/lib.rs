//! The session-policy component (`mfa:session`, world `session-policy`): pure session decisions.
//!
//! Each WIT interface has a plain Rust module holding its types and logic, with time and randomness passed in so
//! it is unit-tested natively: [`tokens`], [`policy`], [`sessions`], [`throttle`], [`risk`], [`enrollment`]. This file only holds
//! the generated bindings and the `Guest` implementations, which convert the WIT types (in `convert`) and
//! delegate. The only randomness comes from [`rand::rngs::OsRng`], which on `wasm32-wasip2` reads `wasi:random`.

pub mod enrollment;
pub mod policy;
pub mod risk;
pub mod sessions;
pub mod throttle;
pub mod tokens;

mod convert;

/// The bindings generated from `wit/session` and their exports (the only place that needs `unsafe`).
#[allow(unsafe_code, missing_docs)]
mod bindings {
    wit_bindgen::generate!({
        world: "session-policy",
        path: "../../wit/session",
    });

    // The export symbols (`mfa:session/tokens@0.1.0#...`) only link into a Wasm module; native builds (the unit
    // tests) skip them.
    #[cfg(target_arch = "wasm32")]
    use super::Component;
    #[cfg(target_arch = "wasm32")]
    export!(Component with_types_in self);
}

use bindings::exports::mfa::session::{
    enrollment as wit_enrollment, policy as wit_policy, risk as wit_risk, sessions as wit_sessions,
    throttle as wit_throttle, tokens as wit_tokens,
};

/// The component: implements every exported interface by delegating to the plain modules.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
struct Component;

/// A new token from the operating system's secure random source.
fn os_token() -> String {
    use rand::TryRngCore as _;
    tokens::new_token(&mut rand::rngs::OsRng.unwrap_err())
}

impl wit_tokens::Guest for Component {
    fn new_session_token() -> String {
        os_token()
    }

    fn new_challenge_id() -> String {
        os_token()
    }

    fn new_device_id() -> String {
        os_token()
    }

    fn storage_key(token: String) -> Result<String, wit_tokens::TokenError> {
        tokens::storage_key(&token).map_err(Into::into)
    }
}

impl wit_policy::Guest for Component {
    fn default_policy() -> wit_policy::SessionPolicy {
        policy::default_policy().into()
    }

    fn validate_policy(policy: wit_policy::SessionPolicy) -> Result<(), wit_policy::PolicyError> {
        policy::validate_policy(&policy.into()).map_err(Into::into)
    }
}

impl wit_sessions::Guest for Component {
    fn check_session(
        policy: wit_sessions::SessionPolicy,
        times: wit_sessions::SessionTimes,
        now: u64,
    ) -> wit_sessions::SessionStatus {
        sessions::check_session(&policy.into(), &times.into(), now).into()
    }

    fn admit_session(
        policy: wit_sessions::SessionPolicy,
        live: Vec<wit_sessions::LiveSession>,
        now: u64,
    ) -> wit_sessions::Admission {
        let live = live.into_iter().map(Into::into).collect();
        sessions::admit_session(&policy.into(), live, now).into()
    }
}

impl wit_throttle::Guest for Component {
    fn default_throttle_policy() -> wit_throttle::ThrottlePolicy {
        throttle::default_throttle_policy().into()
    }

    fn validate_throttle_policy(policy: wit_throttle::ThrottlePolicy) -> Result<(), wit_throttle::ThrottlePolicyError> {
        throttle::validate_throttle_policy(&policy.into()).map_err(Into::into)
    }

    fn check_fixed(
        limit: wit_throttle::FixedLimit,
        counter: Option<wit_throttle::WindowCounter>,
        now: u64,
    ) -> wit_throttle::Decision {
        let counter = counter.map(throttle::WindowCounter::from);
        throttle::check_fixed(&limit.into(), counter.as_ref(), now).into()
    }

    fn count_fixed(
        limit: wit_throttle::FixedLimit,
        counter: Option<wit_throttle::WindowCounter>,
        now: u64,
    ) -> wit_throttle::WindowCounter {
        let counter = counter.map(throttle::WindowCounter::from);
        throttle::count_fixed(&limit.into(), counter.as_ref(), now).into()
    }

    fn check_sliding(limit: wit_throttle::FixedLimit, recent: Vec<u64>, now: u64) -> wit_throttle::Decision {
        throttle::check_sliding(&limit.into(), &recent, now).into()
    }

    fn sliding_left(limit: wit_throttle::FixedLimit, recent: Vec<u64>, now: u64) -> u32 {
        throttle::sliding_left(&limit.into(), &recent, now)
    }

    fn check_delay(
        policy: wit_throttle::GrowingDelay,
        counter: Option<wit_throttle::DelayCounter>,
        now: u64,
    ) -> wit_throttle::Decision {
        let counter = counter.map(throttle::DelayCounter::from);
        throttle::check_delay(&policy.into(), counter.as_ref(), now).into()
    }

    fn count_delay(
        policy: wit_throttle::GrowingDelay,
        counter: Option<wit_throttle::DelayCounter>,
        now: u64,
    ) -> wit_throttle::DelayCounter {
        let counter = counter.map(throttle::DelayCounter::from);
        throttle::count_delay(&policy.into(), counter.as_ref(), now).into()
    }

    fn check_password_attempt(
        policy: wit_throttle::ThrottlePolicy,
        counters: wit_throttle::PasswordCounters,
        now: u64,
    ) -> wit_throttle::PasswordDecision {
        throttle::check_password_attempt(&policy.into(), &counters.into(), now).into()
    }

    fn check_sms_send(
        policy: wit_throttle::ThrottlePolicy,
        recent_sends: Vec<u64>,
        now: u64,
    ) -> wit_throttle::Decision {
        throttle::check_sms_send(&policy.into(), &recent_sends, now).into()
    }

    fn checks_left(policy: wit_throttle::ThrottlePolicy, failures: u32) -> u32 {
        throttle::checks_left(&policy.into(), failures)
    }

    fn check_second_factor(
        policy: wit_throttle::ThrottlePolicy,
        state: Option<wit_throttle::SecondFactorState>,
        now: u64,
    ) -> wit_throttle::SecondFactorGate {
        let state = state.map(throttle::SecondFactorState::from);
        throttle::check_second_factor(&policy.into(), state.as_ref(), now).into()
    }

    fn second_factor_failed(
        policy: wit_throttle::ThrottlePolicy,
        state: Option<wit_throttle::SecondFactorState>,
        now: u64,
    ) -> wit_throttle::FailureOutcome {
        let state = state.map(throttle::SecondFactorState::from);
        throttle::second_factor_failed(&policy.into(), state.as_ref(), now).into()
    }
}

impl wit_risk::Guest for Component {
    fn assess_login(
        login: wit_risk::LoginContext,
        known: Vec<wit_risk::KnownDevice>,
    ) -> Result<Vec<wit_risk::RiskSignal>, wit_risk::IpError> {
        let known: Vec<risk::KnownDevice> = known.into_iter().map(Into::into).collect();
        risk::assess_login(&login.into(), &known)
            .map(|signals| signals.into_iter().map(Into::into).collect())
            .map_err(Into::into)
    }

    fn rate_limit_key(ip: String) -> Result<String, wit_risk::IpError> {
        risk::rate_limit_key(&ip).map_err(Into::into)
    }
}

impl wit_enrollment::Guest for Component {
    fn default_enforcement_policy() -> wit_enrollment::EnforcementPolicy {
        enrollment::default_enforcement_policy().into()
    }

    fn validate_enforcement_policy(
        policy: wit_enrollment::EnforcementPolicy,
    ) -> Result<(), wit_enrollment::EnforcementError> {
        enrollment::validate_enforcement_policy(&policy.into()).map_err(Into::into)
    }

    fn standing(
        policy: wit_enrollment::EnforcementPolicy,
        account_created_at: u64,
        has_second_factor: bool,
        now: u64,
    ) -> wit_enrollment::EnrollmentStatus {
        enrollment::enrollment_status(&policy.into(), account_created_at, has_second_factor, now).into()
    }
}
