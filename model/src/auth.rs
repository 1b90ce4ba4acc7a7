//! Accounts, roles and scope: who may read and write what. The rules are pure and shared: the
//! server enforces them on every endpoint, and the app uses the same ones to show each person only
//! what they may do.
//!
//! Every account belongs to one org unit. A **village worker** reads and writes the records of
//! their own village; a **town supervisor** reads everything in their town and writes the
//! town-level records (publicity articles, fund audits, 示范村 designations); a **county
//! administrator** reads everything in the county and manages the plan, the targets and the
//! accounts; a **city**, **province** or **national supervisor** reads everything in the city,
//! the province or the country and writes nothing. Division codes nest by prefix, so "inside the
//! caller's subtree" is a prefix test (the nation's code is the empty one, a prefix of every code).

use crate::area::{Level, UnitCode};
use serde::{Deserialize, Serialize};

/// Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    VillageWorker,
    TownSupervisor,
    CountyAdmin,
    CitySupervisor,
    ProvinceSupervisor,
    NationSupervisor,
}

impl Role {
    /// Every role, from the village up: one per level, so a role names its level.
    pub const ALL: [Role; 6] = [
        Role::VillageWorker,
        Role::TownSupervisor,
        Role::CountyAdmin,
        Role::CitySupervisor,
        Role::ProvinceSupervisor,
        Role::NationSupervisor,
    ];

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Role::VillageWorker => "village_worker",
            Role::TownSupervisor => "town_supervisor",
            Role::CountyAdmin => "county_admin",
            Role::CitySupervisor => "city_supervisor",
            Role::ProvinceSupervisor => "province_supervisor",
            Role::NationSupervisor => "nation_supervisor",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Role::VillageWorker => "村(社区)工作人员",
            Role::TownSupervisor => "镇(街)督导",
            Role::CountyAdmin => "县级管理员",
            Role::CitySupervisor => "市级督导(只读)",
            Role::ProvinceSupervisor => "省级督导(只读)",
            Role::NationSupervisor => "全国督导(只读)",
        }
    }
    /// Whether accounts of this role fill in forms for their unit; the others read only.
    pub fn records(self) -> bool {
        matches!(self, Role::VillageWorker | Role::TownSupervisor)
    }
    /// Where the phone of an account of this role finds its scope. A village or a town fits on a
    /// phone and is synced down whole; a county holds hundreds of thousands of records a year, a
    /// province tens of millions, so those accounts read figures and records from the server.
    pub fn holding(self) -> Holding {
        if self.level() >= Level::Town {
            Holding::Kept
        } else {
            Holding::Read
        }
    }
    /// The level of unit an account of this role belongs to.
    pub fn level(self) -> Level {
        match self {
            Role::VillageWorker => Level::Village,
            Role::TownSupervisor => Level::Town,
            Role::CountyAdmin => Level::County,
            Role::CitySupervisor => Level::City,
            Role::ProvinceSupervisor => Level::Province,
            Role::NationSupervisor => Level::Nation,
        }
    }
}

/// How a phone holds an account's scope ([`Role::holding`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Holding {
    /// Synced down whole: the phone works from its own copy, offline too.
    Kept,
    /// Read from the server when asked: figures from the report, records a page at a time.
    /// The phone keeps only the last figures it read, to show offline with their date.
    Read,
}

/// An account as the app sees it. Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub username: String,
    pub name: String,
    pub role: Role,
    /// The account's org unit.
    pub unit: UnitCode,
}

impl Account {
    /// Whether the account may read what belongs to `code` (its own unit or below).
    pub fn may_read(&self, code: impl AsRef<str>) -> bool {
        self.unit.contains(code)
    }

    /// Whether the account may write a record of a form recorded per `form_level` for `unit`.
    pub fn may_write(&self, form_level: Level, unit: impl AsRef<str>) -> bool {
        let unit = unit.as_ref();
        match self.role {
            Role::VillageWorker => form_level == Level::Village && self.unit == unit,
            Role::TownSupervisor => form_level == Level::Town && self.unit == unit,
            Role::CountyAdmin
            | Role::CitySupervisor
            | Role::ProvinceSupervisor
            | Role::NationSupervisor => false,
        }
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::CountyAdmin
    }
}

/// Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    /// The device logging in; a session belongs to one device, so a lost phone can be revoked.
    pub device: String,
}

/// A session: the token the phone keeps (also offline), and when it expires. Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub token: String,
    /// Milliseconds since the epoch.
    pub expires_at: i64,
    pub account: Account,
    /// The account must choose a new password before anything else (a one-time password).
    #[serde(default)]
    pub must_change_password: bool,
}

/// Why a request was refused for its credentials. Wire format: stable (the `code` of a 401).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AuthFailure {
    /// No token, or one the server does not know.
    Unauthenticated,
    /// The session ran out: log in again; nothing on the phone is lost.
    Expired,
    /// The device was revoked by an administrator (a lost phone).
    Revoked,
    /// The account logs in with a one-time password and must choose its own before anything
    /// else (the `code` of a 403): show the password form.
    MustChangePassword,
}

/// The longest password taken, in characters; a longer one is refused before it is hashed.
pub const MAX_PASSWORD_CHARS: usize = 128;
/// The longest device name taken, in characters.
pub const MAX_DEVICE_CHARS: usize = 100;
/// The longest username, in bytes (usernames are ASCII).
pub const MAX_USERNAME_LEN: usize = 32;

impl LoginRequest {
    /// Whether every string is within its length limit: checked before any lookup or hashing, so
    /// an oversized login costs the server nothing. Chinese message.
    pub fn check_lengths(&self) -> Result<(), String> {
        if self.username.len() > MAX_USERNAME_LEN {
            return Err("用户名太长".into());
        }
        if self.password.chars().count() > MAX_PASSWORD_CHARS {
            return Err("密码太长".into());
        }
        if self.device.chars().count() > MAX_DEVICE_CHARS {
            return Err("设备名称太长".into());
        }
        Ok(())
    }
}

impl PasswordChange {
    /// Whether both passwords are within the length limit, checked before any hashing.
    pub fn check_lengths(&self) -> Result<(), String> {
        if self.old.chars().count() > MAX_PASSWORD_CHARS
            || self.new.chars().count() > MAX_PASSWORD_CHARS
        {
            return Err("密码太长".into());
        }
        Ok(())
    }
}

/// Checks a new password: at least 8 characters, not all the same kind. Chinese message.
pub fn check_password(p: &str) -> Result<(), String> {
    let n = p.chars().count();
    if n < 8 {
        return Err("密码至少8位".into());
    }
    if n > MAX_PASSWORD_CHARS {
        return Err("密码太长".into());
    }
    let kinds = [
        p.chars().any(|c| c.is_ascii_digit()),
        p.chars().any(|c| c.is_ascii_alphabetic()),
        p.chars().any(|c| !c.is_ascii_alphanumeric()),
    ];
    if kinds.iter().filter(|k| **k).count() < 2 {
        return Err("密码需包含字母、数字、符号中的至少两种".into());
    }
    Ok(())
}

/// Checks a username: 3–32 of lower-case letters, digits, `-` and `_`.
pub fn check_username(u: &str) -> Result<(), String> {
    let ok = (3..=MAX_USERNAME_LEN).contains(&u.len())
        && u.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err("用户名为3到32位小写字母、数字、-或_".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acct(role: Role, unit: &str) -> Account {
        Account {
            username: "u".into(),
            name: "某人".into(),
            role,
            unit: UnitCode::parse_scope(unit).unwrap(),
        }
    }

    #[test]
    fn village_workers_read_and_write_only_their_village() {
        let a = acct(Role::VillageWorker, "610324001001");
        assert!(a.may_read("610324001001"));
        assert!(!a.may_read("610324001201"));
        assert!(!a.may_read("610324001"));
        assert!(a.may_write(Level::Village, "610324001001"));
        assert!(!a.may_write(Level::Village, "610324001201"));
        assert!(!a.may_write(Level::Town, "610324001"));
    }

    #[test]
    fn town_supervisors_read_the_town_and_write_town_records() {
        let a = acct(Role::TownSupervisor, "610324001");
        assert!(a.may_read("610324001"));
        assert!(a.may_read("610324001201"));
        assert!(!a.may_read("610324103001"));
        assert!(!a.may_read("610324"));
        assert!(a.may_write(Level::Town, "610324001"));
        assert!(!a.may_write(Level::Village, "610324001001"));
        assert!(!a.may_write(Level::Town, "610324103"));
    }

    #[test]
    fn county_administrators_read_everything_and_write_no_records() {
        let a = acct(Role::CountyAdmin, "610324");
        assert!(a.may_read("610324103001"));
        assert!(!a.may_read("610302"));
        assert!(!a.may_write(Level::Village, "610324001001"));
    }

    #[test]
    fn city_and_province_supervisors_read_their_subtree_and_write_nothing() {
        for (role, unit, inside, outside) in [
            (Role::CitySupervisor, "6103", "610324001001", "610102001001"),
            (
                Role::ProvinceSupervisor,
                "61",
                "610324001001",
                "620102001001",
            ),
        ] {
            let a = acct(role, unit);
            assert_eq!(role.level(), crate::UnitCode::parse(unit).unwrap().level());
            assert!(a.may_read(unit) && a.may_read(inside), "{role:?}");
            assert!(!a.may_read(outside), "{role:?}");
            assert!(!a.may_read(&unit[..unit.len() - 1]), "{role:?}");
            for level in Level::ALL {
                assert!(!a.may_write(level, inside), "{role:?} {level}");
                assert!(!a.may_write(level, unit), "{role:?} {level}");
            }
            assert!(!a.is_admin() && !role.records());
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
    }

    #[test]
    fn a_national_supervisor_reads_every_unit_and_writes_nothing() {
        let a = acct(Role::NationSupervisor, "");
        assert_eq!(Role::NationSupervisor.level(), Level::Nation);
        assert_eq!(crate::UnitCode::nation().level(), Level::Nation);
        for code in ["", "61", "6201", "610324", "620102001", "610324001001"] {
            assert!(a.may_read(code), "{code}");
            for level in Level::ALL {
                assert!(!a.may_write(level, code), "{code} {level}");
            }
        }
        assert!(!a.is_admin() && !Role::NationSupervisor.records());
        // No account below the nation reads it.
        for (role, unit) in [
            (Role::ProvinceSupervisor, "61"),
            (Role::VillageWorker, "610324001001"),
        ] {
            assert!(!acct(role, unit).may_read(""), "{role:?}");
        }
    }

    #[test]
    fn villages_and_towns_are_kept_on_the_phone_and_larger_scopes_are_read() {
        let kept: Vec<Role> = Role::ALL
            .into_iter()
            .filter(|r| r.holding() == Holding::Kept)
            .collect();
        assert_eq!(kept, [Role::VillageWorker, Role::TownSupervisor]);
        for role in [
            Role::CountyAdmin,
            Role::CitySupervisor,
            Role::ProvinceSupervisor,
            Role::NationSupervisor,
        ] {
            assert_eq!(role.holding(), Holding::Read, "{role:?}");
        }
    }

    #[test]
    fn passwords_and_usernames() {
        assert!(check_password("short1").is_err());
        assert!(check_password("onlyletters").is_err());
        assert!(check_password("letters123").is_ok());
        assert!(check_username("village-610324001001").is_ok());
        assert!(check_username("Admin").is_err());
    }

    #[test]
    fn every_login_string_has_a_length_limit() {
        let ok = LoginRequest {
            username: "village-1".into(),
            password: "p".repeat(MAX_PASSWORD_CHARS),
            device: "d".repeat(MAX_DEVICE_CHARS),
        };
        assert!(ok.check_lengths().is_ok());
        let long_name = LoginRequest {
            username: "u".repeat(MAX_USERNAME_LEN + 1),
            ..ok.clone()
        };
        let long_password = LoginRequest {
            password: "密".repeat(MAX_PASSWORD_CHARS + 1),
            ..ok.clone()
        };
        let long_device = LoginRequest {
            device: "d".repeat(MAX_DEVICE_CHARS + 1),
            ..ok.clone()
        };
        for bad in [long_name, long_password, long_device] {
            assert!(bad.check_lengths().is_err(), "{:?}", bad.username.len());
        }
        let change = PasswordChange {
            old: "x".repeat(100_000),
            new: "letters123".into(),
        };
        assert!(change.check_lengths().is_err());
    }
}

/// One login of one device, as administrators see it. Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct SessionInfo {
    pub id: String,
    pub username: String,
    pub device: String,
    pub created_at: i64,
    pub expires_at: i64,
    #[serde(default)]
    pub revoked_at: Option<i64>,
}

/// One entry of the audit trail: a revision, who made it, on which device, when it arrived.
/// Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    pub seq: i64,
    pub rev: String,
    pub record: String,
    pub form: String,
    pub unit: String,
    pub account: String,
    pub device: String,
    pub deleted: bool,
    pub received_at: i64,
}

/// What an administrator changed besides records (records keep their own trail, [`AuditEntry`]).
/// Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AdminActionKind {
    /// Per-town targets set from an imported decomposition table.
    ImportTargets,
    /// Per-town targets typed on the target page (the detail is shaped as an import's).
    EditTargets,
    /// An account disabled or enabled, renamed, or given another role or unit (the detail holds
    /// the account before and after).
    ChangeAccount,
    /// An account given a new one-time password (never written into the trail).
    ResetPassword,
}

impl AdminActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AdminActionKind::ImportTargets => "import_targets",
            AdminActionKind::EditTargets => "edit_targets",
            AdminActionKind::ChangeAccount => "change_account",
            AdminActionKind::ResetPassword => "reset_password",
        }
    }

    pub fn parse(s: &str) -> Option<AdminActionKind> {
        match s {
            "import_targets" => Some(AdminActionKind::ImportTargets),
            "edit_targets" => Some(AdminActionKind::EditTargets),
            "change_account" => Some(AdminActionKind::ChangeAccount),
            "reset_password" => Some(AdminActionKind::ResetPassword),
            _ => None,
        }
    }
}

/// An account as its administrator manages it: with whether it may log in. Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ManagedAccount {
    #[serde(flatten)]
    pub account: Account,
    #[serde(default)]
    pub disabled: bool,
}

/// What an administrator changes of an account; parts left out stay. Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AccountChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
}

/// A one-time password an administrator set, shown to them once. Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct PasswordReset {
    pub username: String,
    pub password: String,
}

/// One administrator's change in the audit trail: who, from which device, when, over which unit,
/// and what (for an import of targets, a [`crate::table::TargetsImported`]). Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct AdminAction {
    pub seq: i64,
    pub at: i64,
    pub account: String,
    pub device: String,
    pub unit: String,
    pub action: AdminActionKind,
    pub detail: serde_json::Value,
}

/// Which entries of the audit trail to list, besides the unit (and everything under it). Empty
/// or absent parts take everything.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only revisions pushed by this account (its username).
    #[serde(default)]
    pub account: Option<String>,
    /// Only revisions of this form.
    #[serde(default)]
    pub form: Option<String>,
    /// Only revisions received at or after this moment (epoch milliseconds).
    #[serde(default)]
    pub from: Option<i64>,
    /// Only revisions received before this moment (epoch milliseconds).
    #[serde(default)]
    pub until: Option<i64>,
}

/// A new account, as an administrator gives it. Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct NewAccount {
    pub username: String,
    pub name: String,
    pub role: Role,
    pub unit: String,
    pub password: String,
}

/// Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct PasswordChange {
    pub old: String,
    pub new: String,
}
