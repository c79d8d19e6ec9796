//! The rooms' rules in the events table (`Owners`): a room's owner and access, its name reserved
//! by its creator, its members and bans. Their partitions (`OWNER#`, `NAME#`, `MEMBERS#`) are
//! apart from the events and reports, so a function that writes those holds no permission here.

use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

use super::{
    EventsTable, Item, MEMBERS_PK_PREFIX, NAME_PK_PREFIX, OWNER, OWNER_PK_PREFIX, OWNER_SK, SORT_KEY, keys, s, text,
};
use crate::error::ApiError;
use crate::input::{MemberId, Parse, Role, RoomId, RoomName};
use crate::membership::{Access, Member, RoomRules};
use crate::store::{Owners, StoreFuture, unavailable};

const ACCESS: &str = "access";
const MEMBER_PREFIX: &str = "USER#";
const ROLES: &str = "roles";
const BANNED: &str = "banned";
/// Members written at once by `put_members` (each its own conditional-free update).
const MEMBER_WRITES_AT_ONCE: usize = 10;

/// A room's owner and access item: a partition of its own, apart from the room's reports, so
/// that the functions that write reports (`webhooks`) hold no permission on it.
fn owner_pk(room: &RoomId) -> String {
    format!("{OWNER_PK_PREFIX}{room}")
}

fn members_pk(room: &RoomId) -> String {
    format!("{MEMBERS_PK_PREFIX}{room}")
}

fn member_sk(user: &str) -> String {
    format!("{MEMBER_PREFIX}{user}")
}

fn seconds(now: DateTime<Utc>) -> AttributeValue {
    s(&now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// A member item as read: `None` for anything else.
fn member_from(item: &Item) -> Option<Member> {
    let user_id = MemberId::parse(text(item, "user_id")?).ok()?;
    let roles = match item.get(ROLES) {
        Some(AttributeValue::L(list)) => {
            list.iter().filter_map(|v| v.as_s().ok()).filter_map(|r| Role::parse(r).ok()).collect()
        }
        _ => Vec::new(),
    };
    let banned = matches!(item.get(BANNED), Some(AttributeValue::Bool(true)));
    Some(Member { user_id, roles, banned })
}

impl EventsTable {
    /// Deletes a member item that holds neither a role nor a ban (it may have just lost one).
    async fn drop_if_empty(&self, room: &RoomId, user: &MemberId) -> Result<(), ApiError> {
        let delete = self
            .client()
            .delete_item()
            .table_name(&self.name)
            .set_key(Some(keys(members_pk(room), member_sk(user.as_str()))))
            .condition_expression("attribute_not_exists(#r) AND (attribute_not_exists(#b) OR #b = :no)")
            .expression_attribute_names("#r", ROLES)
            .expression_attribute_names("#b", BANNED)
            .expression_attribute_values(":no", AttributeValue::Bool(false));
        match Box::pin(delete.send()).await {
            Ok(_) => Ok(()),
            Err(e) if matches!(e.as_service_error(), Some(DeleteItemError::ConditionalCheckFailedException(_))) => {
                Ok(())
            }
            Err(e) => Err(unavailable(&DisplayErrorContext(&e))),
        }
    }
}

/// Who set an item and when: its `set_by` and `set_at`.
fn set_by(by: &str, now: DateTime<Utc>) -> [(&'static str, AttributeValue); 2] {
    [("set_by", s(by)), ("set_at", seconds(now))]
}

/// An owner (of a room, or of a name reserved), keeping the item's other attributes: the room's
/// access stays as it is.
fn owner_fields<'a>(owner: &str, by: &str, now: DateTime<Utc>) -> Vec<(&'a str, AttributeValue)> {
    let mut fields = vec![(OWNER, s(owner))];
    fields.extend(set_by(by, now));
    fields
}

/// Claimed unless another holds it: the condition of a claim on [`owner_fields`].
const UNLESS_ANOTHER_OWNS: &str = "attribute_not_exists(#n0) OR #n0 = :v0";

impl Owners for EventsTable {
    fn reserve_name<'a>(&'a self, name: &'a RoomName, sub: &'a str, now: DateTime<Utc>) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let keys = (format!("{NAME_PK_PREFIX}{}", name.as_str().to_ascii_lowercase()), "NAME".to_string());
            Ok(self.set(keys, owner_fields(sub, sub, now), Some(UNLESS_ANOTHER_OWNS)).await?.is_some())
        })
    }

    fn owner_of<'a>(&'a self, room: &'a RoomId) -> StoreFuture<'a, Option<String>> {
        Box::pin(async move {
            let item = self.get(&owner_pk(room), OWNER_SK).await?;
            Ok(item.as_ref().and_then(|i| text(i, OWNER)).map(str::to_string))
        })
    }

    fn claim_owner<'a>(&'a self, room: &'a RoomId, sub: &'a str, now: DateTime<Utc>) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let keys = (owner_pk(room), OWNER_SK.into());
            Ok(self.set(keys, owner_fields(sub, sub, now), Some(UNLESS_ANOTHER_OWNS)).await?.is_some())
        })
    }

    fn assign_owner<'a>(
        &'a self,
        room: &'a RoomId,
        owner: &'a str,
        by: &'a str,
        now: DateTime<Utc>,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.set((owner_pk(room), OWNER_SK.into()), owner_fields(owner, by, now), None).await.map(|_| ())
        })
    }

    fn room_rules<'a>(&'a self, room: &'a RoomId, user: Option<&'a str>) -> StoreFuture<'a, RoomRules> {
        Box::pin(async move {
            let mut wanted = vec![keys(owner_pk(room), OWNER_SK.into())];
            // A sub too long to be a member id is nobody's member item: not asked for.
            if let Some(user) = user.filter(|u| MemberId::parse(u).is_ok()) {
                wanted.push(keys(members_pk(room), member_sk(user)));
            }
            let mut rules = RoomRules::default();
            for item in self.get_many(wanted).await? {
                if text(&item, SORT_KEY) == Some(OWNER_SK) {
                    rules.owner = text(&item, OWNER).map(str::to_string);
                    rules.access = text(&item, ACCESS).and_then(|a| Access::parse(a).ok());
                } else {
                    rules.member = member_from(&item);
                }
            }
            Ok(rules)
        })
    }

    fn set_access<'a>(
        &'a self,
        room: &'a RoomId,
        access: Access,
        by: &'a str,
        now: DateTime<Utc>,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let fields = vec![(ACCESS, s(access.as_str())), ("access_set_by", s(by)), ("access_set_at", seconds(now))];
            self.set((owner_pk(room), OWNER_SK.into()), fields, None).await.map(|_| ())
        })
    }

    fn put_members<'a>(
        &'a self,
        room: &'a RoomId,
        members: &'a [(MemberId, Vec<Role>)],
        by: &'a str,
        now: DateTime<Utc>,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            for chunk in members.chunks(MEMBER_WRITES_AT_ONCE) {
                let writes = chunk.iter().map(|(user, roles)| {
                    let roles = AttributeValue::L(roles.iter().map(|r| s(r.as_str())).collect());
                    let mut fields = vec![("user_id", s(user.as_str())), (ROLES, roles)];
                    fields.extend(set_by(by, now));
                    self.set((members_pk(room), member_sk(user.as_str())), fields, None)
                });
                futures_util::future::try_join_all(writes).await?;
            }
            Ok(())
        })
    }

    fn remove_member<'a>(&'a self, room: &'a RoomId, user: &'a MemberId) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let keys = (members_pk(room), member_sk(user.as_str()));
            let old = self.update(keys, "REMOVE #n0", &[ROLES], vec![], Some("attribute_exists(#n0)")).await?;
            if old.is_some() {
                self.drop_if_empty(room, user).await?;
            }
            Ok(old.is_some())
        })
    }

    fn set_banned<'a>(
        &'a self,
        room: &'a RoomId,
        user: &'a MemberId,
        banned: bool,
        by: &'a str,
        now: DateTime<Utc>,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let keys = (members_pk(room), member_sk(user.as_str()));
            let mut fields = vec![("user_id", s(user.as_str())), (BANNED, AttributeValue::Bool(banned))];
            fields.extend(set_by(by, now));
            // Lifting a ban of nobody makes no item.
            let condition = (!banned).then_some("attribute_exists(#n0)");
            if self.set(keys, fields, condition).await?.is_some() && !banned {
                self.drop_if_empty(room, user).await?;
            }
            Ok(())
        })
    }

    fn member_page<'a>(
        &'a self,
        room: &'a RoomId,
        limit: u32,
        after: Option<&'a MemberId>,
    ) -> StoreFuture<'a, (Vec<Member>, Option<MemberId>)> {
        Box::pin(async move {
            let after = after.map(|a| member_sk(a.as_str()));
            let (items, next) =
                self.query(&members_pk(room), MEMBER_PREFIX, true, Some(limit), after.as_deref()).await?;
            let members = items.iter().filter_map(member_from).collect();
            let next = next.and_then(|sk| sk.strip_prefix(MEMBER_PREFIX).and_then(|u| MemberId::parse(u).ok()));
            Ok((members, next))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_items_read_back_and_anything_else_is_no_member() {
        let mut item = keys("MEMBERS#r1".into(), member_sk("alice"));
        item.insert("user_id".into(), s("alice"));
        item.insert(ROLES.into(), AttributeValue::L(vec![s("guest"), s("host")]));
        let read = member_from(&item).unwrap();
        assert_eq!((read.user_id.as_str(), read.roles.len(), read.banned), ("alice", 2, false));
        item.insert(BANNED.into(), AttributeValue::Bool(true));
        assert!(member_from(&item).unwrap().banned);
        assert_eq!(member_from(&keys("ROOM#r1".into(), OWNER_SK.into())), None);
    }
}
