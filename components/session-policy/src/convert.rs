//! Conversions between the types generated from `wit/session` and the plain Rust types of each interface's module.
//!
//! Every conversion is a field-for-field or case-for-case copy: no logic lives here.

use crate::bindings::exports::mfa::session::{
    enrollment as wit_enrollment, policy as wit_policy, risk as wit_risk, sessions as wit_sessions,
    throttle as wit_throttle, tokens as wit_tokens,
};
use crate::{enrollment, policy, risk, sessions, throttle, tokens};

// tokens

impl From<tokens::TokenError> for wit_tokens::TokenError {
    fn from(error: tokens::TokenError) -> Self {
        match error {
            tokens::TokenError::Malformed => Self::Malformed,
            tokens::TokenError::WrongLength => Self::WrongLength,
        }
    }
}

// policy

impl From<wit_policy::OverLimitAction> for policy::OverLimitAction {
    fn from(action: wit_policy::OverLimitAction) -> Self {
        match action {
            wit_policy::OverLimitAction::EvictOldest => Self::EvictOldest,
            wit_policy::OverLimitAction::Refuse => Self::Refuse,
        }
    }
}

impl From<policy::OverLimitAction> for wit_policy::OverLimitAction {
    fn from(action: policy::OverLimitAction) -> Self {
        match action {
            policy::OverLimitAction::EvictOldest => Self::EvictOldest,
            policy::OverLimitAction::Refuse => Self::Refuse,
        }
    }
}

impl From<wit_policy::SessionPolicy> for policy::SessionPolicy {
    fn from(p: wit_policy::SessionPolicy) -> Self {
        Self {
            absolute_lifetime: p.absolute_lifetime,
            idle_timeout: p.idle_timeout,
            activity_write_interval: p.activity_write_interval,
            max_sessions_per_user: p.max_sessions_per_user,
            over_limit_action: p.over_limit_action.into(),
            step_up_validity: p.step_up_validity,
            trusted_device_lifetime: p.trusted_device_lifetime,
        }
    }
}

impl From<policy::SessionPolicy> for wit_policy::SessionPolicy {
    fn from(p: policy::SessionPolicy) -> Self {
        Self {
            absolute_lifetime: p.absolute_lifetime,
            idle_timeout: p.idle_timeout,
            activity_write_interval: p.activity_write_interval,
            max_sessions_per_user: p.max_sessions_per_user,
            over_limit_action: p.over_limit_action.into(),
            step_up_validity: p.step_up_validity,
            trusted_device_lifetime: p.trusted_device_lifetime,
        }
    }
}

impl From<policy::PolicyError> for wit_policy::PolicyError {
    fn from(error: policy::PolicyError) -> Self {
        use policy::PolicyError as E;
        match error {
            E::AbsoluteLifetimeOutOfRange(v) => Self::AbsoluteLifetimeOutOfRange(v),
            E::IdleTimeoutOutOfRange(v) => Self::IdleTimeoutOutOfRange(v),
            E::ActivityWriteIntervalOutOfRange(v) => Self::ActivityWriteIntervalOutOfRange(v),
            E::MaxSessionsOutOfRange(v) => Self::MaxSessionsOutOfRange(v),
            E::StepUpValidityOutOfRange(v) => Self::StepUpValidityOutOfRange(v),
            E::TrustedDeviceLifetimeOutOfRange(v) => Self::TrustedDeviceLifetimeOutOfRange(v),
        }
    }
}

// sessions

impl From<wit_sessions::SessionTimes> for sessions::SessionTimes {
    fn from(t: wit_sessions::SessionTimes) -> Self {
        Self { created_at: t.created_at, last_seen_at: t.last_seen_at, auth_time: t.auth_time }
    }
}

impl From<sessions::SessionStatus> for wit_sessions::SessionStatus {
    fn from(status: sessions::SessionStatus) -> Self {
        match status {
            sessions::SessionStatus::Active(a) => Self::Active(wit_sessions::ActiveSession {
                expires_at: a.expires_at,
                absolute_expires_at: a.absolute_expires_at,
                record_activity: a.record_activity,
                step_up_fresh: a.step_up_fresh,
            }),
            sessions::SessionStatus::IdleExpired => Self::IdleExpired,
            sessions::SessionStatus::Expired => Self::Expired,
        }
    }
}

impl From<wit_sessions::LiveSession> for sessions::LiveSession {
    fn from(s: wit_sessions::LiveSession) -> Self {
        Self { id: s.id, created_at: s.created_at, last_seen_at: s.last_seen_at }
    }
}

impl From<sessions::Admission> for wit_sessions::Admission {
    fn from(admission: sessions::Admission) -> Self {
        match admission {
            sessions::Admission::Admit(plan) => {
                Self::Admit(wit_sessions::AdmissionPlan { evict: plan.evict, stale: plan.stale })
            }
            sessions::Admission::Refuse => Self::Refuse,
        }
    }
}

// throttle

impl From<wit_throttle::FixedLimit> for throttle::FixedLimit {
    fn from(l: wit_throttle::FixedLimit) -> Self {
        Self { max: l.max, window: l.window }
    }
}

impl From<throttle::FixedLimit> for wit_throttle::FixedLimit {
    fn from(l: throttle::FixedLimit) -> Self {
        Self { max: l.max, window: l.window }
    }
}

impl From<wit_throttle::GrowingDelay> for throttle::GrowingDelay {
    fn from(d: wit_throttle::GrowingDelay) -> Self {
        Self { free_failures: d.free_failures, window: d.window, base_delay: d.base_delay, max_delay: d.max_delay }
    }
}

impl From<throttle::GrowingDelay> for wit_throttle::GrowingDelay {
    fn from(d: throttle::GrowingDelay) -> Self {
        Self { free_failures: d.free_failures, window: d.window, base_delay: d.base_delay, max_delay: d.max_delay }
    }
}

impl From<wit_throttle::LockoutPolicy> for throttle::LockoutPolicy {
    fn from(l: wit_throttle::LockoutPolicy) -> Self {
        Self {
            max_failures: l.max_failures,
            window: l.window,
            lock_duration: l.lock_duration,
            max_lock_duration: l.max_lock_duration,
            disable_after: l.disable_after,
        }
    }
}

impl From<throttle::LockoutPolicy> for wit_throttle::LockoutPolicy {
    fn from(l: throttle::LockoutPolicy) -> Self {
        Self {
            max_failures: l.max_failures,
            window: l.window,
            lock_duration: l.lock_duration,
            max_lock_duration: l.max_lock_duration,
            disable_after: l.disable_after,
        }
    }
}

impl From<wit_throttle::ThrottlePolicy> for throttle::ThrottlePolicy {
    fn from(p: wit_throttle::ThrottlePolicy) -> Self {
        Self {
            password_per_account_ip: p.password_per_account_ip.into(),
            password_per_ip: p.password_per_ip.into(),
            password_per_account: p.password_per_account.into(),
            registrations_per_ip: p.registrations_per_ip.into(),
            sms_per_phone: p.sms_per_phone.into(),
            checks_per_code: p.checks_per_code,
            second_factor: p.second_factor.into(),
        }
    }
}

impl From<throttle::ThrottlePolicy> for wit_throttle::ThrottlePolicy {
    fn from(p: throttle::ThrottlePolicy) -> Self {
        Self {
            password_per_account_ip: p.password_per_account_ip.into(),
            password_per_ip: p.password_per_ip.into(),
            password_per_account: p.password_per_account.into(),
            registrations_per_ip: p.registrations_per_ip.into(),
            sms_per_phone: p.sms_per_phone.into(),
            checks_per_code: p.checks_per_code,
            second_factor: p.second_factor.into(),
        }
    }
}

impl From<throttle::ThrottlePolicyError> for wit_throttle::ThrottlePolicyError {
    fn from(error: throttle::ThrottlePolicyError) -> Self {
        use throttle::ThrottlePolicyError as E;
        match error {
            E::ZeroLimit => Self::ZeroLimit,
            E::DurationOutOfRange => Self::DurationOutOfRange,
            E::BaseExceedsMax => Self::BaseExceedsMax,
            E::DisableBeforeLock => Self::DisableBeforeLock,
        }
    }
}

impl From<wit_throttle::WindowCounter> for throttle::WindowCounter {
    fn from(c: wit_throttle::WindowCounter) -> Self {
        Self { count: c.count, window_start: c.window_start }
    }
}

impl From<throttle::WindowCounter> for wit_throttle::WindowCounter {
    fn from(c: throttle::WindowCounter) -> Self {
        Self { count: c.count, window_start: c.window_start }
    }
}

impl From<wit_throttle::DelayCounter> for throttle::DelayCounter {
    fn from(c: wit_throttle::DelayCounter) -> Self {
        Self { failures: c.failures, last_failure: c.last_failure }
    }
}

impl From<throttle::DelayCounter> for wit_throttle::DelayCounter {
    fn from(c: throttle::DelayCounter) -> Self {
        Self { failures: c.failures, last_failure: c.last_failure }
    }
}

impl From<throttle::Decision> for wit_throttle::Decision {
    fn from(decision: throttle::Decision) -> Self {
        match decision {
            throttle::Decision::Allowed => Self::Allowed,
            throttle::Decision::RetryAfter(seconds) => Self::RetryAfter(seconds),
        }
    }
}

impl From<wit_throttle::PasswordCounters> for throttle::PasswordCounters {
    fn from(c: wit_throttle::PasswordCounters) -> Self {
        Self {
            account_ip: c.account_ip.map(Into::into),
            ip: c.ip.map(Into::into),
            account: c.account.map(Into::into),
            known_device: c.known_device,
        }
    }
}

impl From<throttle::PasswordDecision> for wit_throttle::PasswordDecision {
    fn from(decision: throttle::PasswordDecision) -> Self {
        match decision {
            throttle::PasswordDecision::Allowed => Self::Allowed,
            throttle::PasswordDecision::Throttled(t) => Self::Throttled(wit_throttle::PasswordThrottled {
                limit: match t.limit {
                    throttle::PasswordLimit::AccountIp => wit_throttle::PasswordLimit::AccountIp,
                    throttle::PasswordLimit::Ip => wit_throttle::PasswordLimit::Ip,
                    throttle::PasswordLimit::Account => wit_throttle::PasswordLimit::Account,
                },
                retry_after: t.retry_after,
            }),
        }
    }
}

impl From<wit_throttle::SecondFactorState> for throttle::SecondFactorState {
    fn from(s: wit_throttle::SecondFactorState) -> Self {
        Self {
            window_failures: s.window_failures,
            window_start: s.window_start,
            consecutive_failures: s.consecutive_failures,
            lockouts: s.lockouts,
            locked_until: s.locked_until,
        }
    }
}

impl From<throttle::SecondFactorState> for wit_throttle::SecondFactorState {
    fn from(s: throttle::SecondFactorState) -> Self {
        Self {
            window_failures: s.window_failures,
            window_start: s.window_start,
            consecutive_failures: s.consecutive_failures,
            lockouts: s.lockouts,
            locked_until: s.locked_until,
        }
    }
}

impl From<throttle::SecondFactorGate> for wit_throttle::SecondFactorGate {
    fn from(gate: throttle::SecondFactorGate) -> Self {
        match gate {
            throttle::SecondFactorGate::Open => Self::Open,
            throttle::SecondFactorGate::Locked(seconds) => Self::Locked(seconds),
            throttle::SecondFactorGate::Disabled => Self::Disabled,
        }
    }
}

impl From<throttle::FailureOutcome> for wit_throttle::FailureOutcome {
    fn from(o: throttle::FailureOutcome) -> Self {
        Self { state: o.state.into(), locked_for: o.locked_for, disabled: o.disabled }
    }
}

// risk

impl From<risk::RiskSignal> for wit_risk::RiskSignal {
    fn from(signal: risk::RiskSignal) -> Self {
        match signal {
            risk::RiskSignal::NewDevice => Self::NewDevice,
            risk::RiskSignal::NewIp => Self::NewIp,
            risk::RiskSignal::UserAgentChanged => Self::UserAgentChanged,
            risk::RiskSignal::NewCountry => Self::NewCountry,
        }
    }
}

impl From<wit_risk::LoginContext> for risk::LoginContext {
    fn from(l: wit_risk::LoginContext) -> Self {
        Self { device_id: l.device_id, ip: l.ip, user_agent: l.user_agent, country: l.country }
    }
}

impl From<wit_risk::KnownDevice> for risk::KnownDevice {
    fn from(d: wit_risk::KnownDevice) -> Self {
        Self { device_id: d.device_id, ips: d.ips, user_agent: d.user_agent, countries: d.countries }
    }
}

impl From<risk::IpError> for wit_risk::IpError {
    fn from(error: risk::IpError) -> Self {
        match error {
            risk::IpError::Invalid => Self::Invalid,
        }
    }
}

// enrollment

impl From<wit_enrollment::EnforcementPolicy> for enrollment::EnforcementPolicy {
    fn from(p: wit_enrollment::EnforcementPolicy) -> Self {
        Self { required: p.required, grace_days: p.grace_days, required_since: p.required_since }
    }
}

impl From<enrollment::EnforcementPolicy> for wit_enrollment::EnforcementPolicy {
    fn from(p: enrollment::EnforcementPolicy) -> Self {
        Self { required: p.required, grace_days: p.grace_days, required_since: p.required_since }
    }
}

impl From<enrollment::EnforcementError> for wit_enrollment::EnforcementError {
    fn from(error: enrollment::EnforcementError) -> Self {
        match error {
            enrollment::EnforcementError::GraceDaysOutOfRange(days) => Self::GraceDaysOutOfRange(days),
        }
    }
}

impl From<enrollment::EnrollmentStatus> for wit_enrollment::EnrollmentStatus {
    fn from(status: enrollment::EnrollmentStatus) -> Self {
        match status {
            enrollment::EnrollmentStatus::Satisfied => Self::Satisfied,
            enrollment::EnrollmentStatus::InGrace(ends) => Self::InGrace(ends),
            enrollment::EnrollmentStatus::Required => Self::Required,
        }
    }
}
