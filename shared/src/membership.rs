//! Who may join a room, and as what, when callers sign in (`CALLER_AUTH=jwt`): the room's access
//! setting, its members and their roles, its bans, and the rule `/auth-token` applies to them
//! ([`may_join`]). Plain types and one function, tested without a table; the store keeps them
//! (`store::Owners`), room-control's member routes change them.
//!
//! The rule, in order (docs/authorization.md):
//! 1. `ALLOWED_ROLES` and `ROLE_CLAIMS` first (`auth`): the organisation's outer bound.
//! 2. A banned user gets no token for the room, whatever the role and the access.
//! 3. A role of `HOST_ROLES`: the room's owner, an admin, or a member granted that role.
//! 4. Any other role: anyone signed in in an `open` room; in a `members` room its owner, an
//!    admin, or a member granted that role.
//!
//! A refusal reads the same whether the room exists or not, so a token request never confirms
//! that a room id is real.

use std::collections::BTreeSet;

use crate::error::{ApiError, ErrorCode};
use crate::input::{MemberId, Parse, Role, RoomId};

/// Most members one `POST /room-members` adds or updates.
pub const MAX_MEMBERS_PER_REQUEST: usize = 100;

/// Who may get tokens for a room's roles outside `HOST_ROLES`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone signed in.
    Open,
    /// Only its members (for the roles granted), its owner and admins.
    Members,
}

impl Access {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Members => "members",
        }
    }
}

impl Parse for Access {
    fn parse(s: &str) -> Result<Self, String> {
        match s {
            "open" => Ok(Self::Open),
            "members" => Ok(Self::Members),
            _ => Err("must be 'open' or 'members'".into()),
        }
    }
}

impl std::fmt::Display for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a room says of one user: the roles granted (none for a banned user who is no member) and
/// whether the user is banned.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Member {
    pub user_id: MemberId,
    pub roles: Vec<Role>,
    pub banned: bool,
}

/// A room's rules as one read gives them: its owner, its access setting (`None`: never set, so
/// `ROOM_ACCESS_DEFAULT`), and what it says of the user asking.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RoomRules {
    pub owner: Option<String>,
    pub access: Option<Access>,
    pub member: Option<Member>,
}

/// `HOST_ROLES` and `ROOM_ACCESS_DEFAULT`: what rooms decide, within the claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinRules {
    pub host_roles: BTreeSet<Role>,
    pub default_access: Access,
}

impl Default for JoinRules {
    fn default() -> Self {
        Self { host_roles: BTreeSet::from([Role::parse("host").expect("a valid role")]), default_access: Access::Open }
    }
}

impl JoinRules {
    /// Whether `role` is one of `HOST_ROLES`.
    pub fn is_host(&self, role: &Role) -> bool {
        self.host_roles.contains(role)
    }
}

/// Who asks for a token: a signed-in caller's `sub`, and whether the caller is an admin.
#[derive(Debug, Clone, Copy)]
pub struct Asker<'a> {
    pub sub: &'a str,
    pub admin: bool,
}

/// Fails with 403 `banned` or `role_not_granted` unless `asker` may get a token of `role` for
/// `room`, whose rules are `rules` (read for the asker's own `sub`). The asker has passed
/// `ALLOWED_ROLES` and `ROLE_CLAIMS` already; on an open API nobody is told apart and this is
/// not asked.
pub fn may_join(
    asker: Asker<'_>,
    role: &Role,
    room: &RoomId,
    rules: &RoomRules,
    join: &JoinRules,
) -> Result<(), ApiError> {
    let sub = asker.sub;
    let member = rules.member.as_ref().filter(|m| m.user_id.as_str() == sub);
    if member.is_some_and(|m| m.banned) {
        tracing::info!(sub, room_id = %room, %role, "refused: banned from the room");
        return Err(ApiError::Forbidden { code: ErrorCode::Banned, msg: format!("you are banned from room {room}") });
    }
    let granted = member.is_some_and(|m| m.roles.contains(role));
    let runs_it = asker.admin || rules.owner.as_deref() == Some(sub);
    let access = rules.access.unwrap_or(join.default_access);
    let allowed = runs_it || granted || (!join.is_host(role) && access == Access::Open);
    if allowed {
        return Ok(());
    }
    let why = if join.is_host(role) { "a host role" } else { "a members-only room" };
    tracing::info!(sub, room_id = %room, %role, why, "refused: the room does not grant this role");
    Err(ApiError::Forbidden {
        code: ErrorCode::RoleNotGranted,
        msg: format!("role '{role}' in room {room} is not granted to this caller"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(r: &str) -> Role {
        Role::parse(r).unwrap()
    }

    fn member(user: &str, roles: &[&str], banned: bool) -> Option<Member> {
        Some(Member { user_id: MemberId::parse(user).unwrap(), roles: roles.iter().map(|r| role(r)).collect(), banned })
    }

    const ROOM: &str = "631b2654f771854d9bf633df";

    /// `sub`'s answer for `role` in a room with these rules; an admin when `groups` holds `admin`.
    fn answer(sub: &str, groups: &str, role_name: &str, rules: &RoomRules, join: &JoinRules) -> Result<(), String> {
        let asker = Asker { sub, admin: groups.contains("admin") };
        may_join(asker, &role(role_name), &RoomId::parse(ROOM).unwrap(), rules, join)
            .map_err(|e| e.code().as_str().to_string())
    }

    #[test]
    fn host_roles_belong_to_the_owner_admins_and_members_granted_them() {
        let join = JoinRules::default();
        let owned = RoomRules { owner: Some("teacher".into()), ..RoomRules::default() };
        assert_eq!(answer("teacher", "", "host", &owned, &join), Ok(()));
        assert_eq!(answer("admin", "[admin]", "host", &owned, &join), Ok(()));
        assert_eq!(answer("other-teacher", "teachers", "host", &owned, &join), Err("role_not_granted".into()));
        let granted = RoomRules { member: member("co", &["host"], false), ..owned.clone() };
        assert_eq!(answer("co", "", "host", &granted, &join), Ok(()));
        let guest_only = RoomRules { member: member("co", &["guest"], false), ..owned.clone() };
        assert_eq!(answer("co", "", "host", &guest_only, &join), Err("role_not_granted".into()));
        // A room nobody recorded reads as a room whose host role is nobody's: no existence told.
        assert_eq!(answer("teacher", "", "host", &RoomRules::default(), &join), Err("role_not_granted".into()));
        // Another member's item (a store answering for someone else) grants nothing.
        let someone_elses = RoomRules { member: member("co", &["host"], false), ..RoomRules::default() };
        assert_eq!(answer("intruder", "", "host", &someone_elses, &join), Err("role_not_granted".into()));
    }

    #[test]
    fn open_and_members_rooms() {
        let join = JoinRules::default();
        let open = RoomRules { owner: Some("teacher".into()), access: Some(Access::Open), member: None };
        assert_eq!(answer("anyone", "", "guest", &open, &join), Ok(()));
        let members = RoomRules { access: Some(Access::Members), ..open.clone() };
        assert_eq!(answer("anyone", "", "guest", &members, &join), Err("role_not_granted".into()));
        assert_eq!(answer("teacher", "", "guest", &members, &join), Ok(()), "the owner");
        assert_eq!(answer("admin", "[admin]", "viewer", &members, &join), Ok(()), "an admin");
        let student = RoomRules { member: member("s1", &["guest"], false), ..members.clone() };
        assert_eq!(answer("s1", "", "guest", &student, &join), Ok(()));
        assert_eq!(answer("s1", "", "viewer", &student, &join), Err("role_not_granted".into()), "roles granted only");
        // Unset access is ROOM_ACCESS_DEFAULT.
        let unset = RoomRules { access: None, ..open.clone() };
        assert_eq!(answer("anyone", "", "guest", &unset, &join), Ok(()));
        let closed = JoinRules { default_access: Access::Members, ..JoinRules::default() };
        assert_eq!(answer("anyone", "", "guest", &unset, &closed), Err("role_not_granted".into()));
        assert_eq!(answer("anyone", "", "guest", &open, &closed), Ok(()), "the room's own setting wins");
    }

    #[test]
    fn a_ban_refuses_every_role_in_every_mode() {
        let join = JoinRules::default();
        for access in [Access::Open, Access::Members] {
            let banned = RoomRules {
                owner: Some("teacher".into()),
                access: Some(access),
                member: member("s1", &["guest", "host"], true),
            };
            for r in ["guest", "host", "viewer"] {
                assert_eq!(answer("s1", "", r, &banned, &join), Err("banned".into()), "{access} {r}");
            }
            assert_eq!(answer("other", "", "guest", &banned, &join).is_ok(), access == Access::Open);
        }
    }

    #[test]
    fn access_and_member_ids_parse_strictly() {
        assert_eq!(Access::parse("members"), Ok(Access::Members));
        for bad in ["Members", "", "closed"] {
            assert!(Access::parse(bad).is_err(), "{bad:?}");
        }
        use crate::input::MAX_MEMBER_ID_BYTES;
        assert!(MemberId::parse("7d3f0c2e-1b4a-4c8e-9f00-123456789abc").is_ok());
        for bad in [" ", "a\nb", &"x".repeat(MAX_MEMBER_ID_BYTES + 1)] {
            assert!(MemberId::parse(bad).is_err(), "{bad:?}");
        }
    }
}
