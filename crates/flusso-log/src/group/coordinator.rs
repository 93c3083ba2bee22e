//! The classic group coordinator: membership, rebalances and assignments of consumer groups, as
//! Kafka's `GroupCoordinator` does them.
//!
//! A group moves through `Empty → PreparingRebalance → CompletingRebalance → Stable`. A join or a
//! leave (or a member whose session expires) starts a rebalance; the join responses are held until
//! every known member has rejoined (or the rebalance timeout drops those that did not); the leader
//! then sends the assignment in SyncGroup, which the other members receive. Assignors run in the
//! clients: their metadata and assignments pass through untouched.
//!
//! Member ids are handed out as KIP-394 asks: a JoinGroup v4+ without a member id gets
//! `MEMBER_ID_REQUIRED` and an id to rejoin with. Static members (`group.instance.id`) keep their
//! assignment across restarts: a rejoin under the same instance id replaces the old member without a
//! rebalance.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::ResponseError;
use parking_lot::Mutex;
use tokio::sync::oneshot;
use tokio::time::Instant;

/// Limits and delays of the coordinator.
#[derive(Debug, Clone)]
pub struct GroupConfig {
    /// How long a new group waits for more members before its first rebalance completes.
    pub initial_rebalance_delay: Duration,
    /// Smallest accepted session timeout.
    pub min_session_timeout: Duration,
    /// Largest accepted session timeout.
    pub max_session_timeout: Duration,
}

impl Default for GroupConfig {
    fn default() -> Self {
        GroupConfig {
            initial_rebalance_delay: Duration::from_millis(300),
            min_session_timeout: Duration::from_millis(1_000),
            max_session_timeout: Duration::from_secs(1_800),
        }
    }
}

/// Where a group is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupState {
    /// No members (it may still have committed offsets).
    Empty,
    /// Waiting for members to (re)join.
    PreparingRebalance,
    /// Waiting for the leader's assignment.
    CompletingRebalance,
    /// Members have their assignments.
    Stable,
}

impl GroupState {
    /// Kafka's name for the state.
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
        }
    }
}

/// The answer to a JoinGroup.
#[derive(Debug, Clone, Default)]
pub struct JoinResult {
    pub error: i16,
    pub generation_id: i32,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub leader: String,
    pub member_id: String,
    /// For the leader: every member with its metadata for the chosen protocol.
    pub members: Vec<(String, Option<String>, Bytes)>,
}

impl JoinResult {
    fn error(error: ResponseError, member_id: &str) -> Self {
        JoinResult {
            error: error.code(),
            generation_id: -1,
            member_id: member_id.to_string(),
            ..Default::default()
        }
    }
}

/// The answer to a SyncGroup.
#[derive(Debug, Clone, Default)]
pub struct SyncResult {
    pub error: i16,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub assignment: Bytes,
}

impl SyncResult {
    fn error(error: ResponseError) -> Self {
        SyncResult {
            error: error.code(),
            ..Default::default()
        }
    }
}

/// An answer now, or one to wait for.
#[derive(Debug)]
pub enum Reply<T> {
    Now(T),
    Later(oneshot::Receiver<T>),
}

/// What a JoinGroup asks.
#[derive(Debug, Clone)]
pub struct JoinRequest {
    pub group_id: String,
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout: Duration,
    pub rebalance_timeout: Duration,
    pub protocol_type: String,
    pub protocols: Vec<(String, Bytes)>,
    /// JoinGroup v4+: a new member must first obtain its id (KIP-394).
    pub require_known_member_id: bool,
}

#[derive(Debug)]
struct Member {
    id: String,
    instance_id: Option<String>,
    client_id: String,
    client_host: String,
    session_timeout: Duration,
    rebalance_timeout: Duration,
    protocols: Vec<(String, Bytes)>,
    assignment: Bytes,
    join_waiter: Option<oneshot::Sender<JoinResult>>,
    sync_waiter: Option<oneshot::Sender<SyncResult>>,
    last_heartbeat: Instant,
}

impl Member {
    fn new(id: &str, req: &JoinRequest, assignment: Bytes) -> Member {
        Member {
            id: id.to_string(),
            instance_id: req.group_instance_id.clone(),
            client_id: req.client_id.clone(),
            client_host: req.client_host.clone(),
            session_timeout: req.session_timeout,
            rebalance_timeout: req.rebalance_timeout,
            protocols: req.protocols.clone(),
            assignment,
            join_waiter: None,
            sync_waiter: None,
            last_heartbeat: Instant::now(),
        }
    }

    /// The member's metadata for `protocol` (empty if it does not speak it).
    fn metadata(&self, protocol: &str) -> Bytes {
        self.protocols
            .iter()
            .find(|(p, _)| p == protocol)
            .map(|(_, b)| b.clone())
            .unwrap_or_default()
    }
}

/// One group as DescribeGroups shows it.
#[derive(Debug, Clone)]
pub struct GroupDescription {
    pub state: GroupState,
    pub protocol_type: String,
    pub protocol: String,
    /// (member id, instance id, client id, client host, metadata, assignment)
    pub members: Vec<(String, Option<String>, String, String, Bytes, Bytes)>,
}

#[derive(Debug)]
struct Group {
    state: GroupState,
    generation: i32,
    protocol_type: Option<String>,
    protocol: Option<String>,
    leader: Option<String>,
    members: BTreeMap<String, Member>,
    /// Member ids handed out with MEMBER_ID_REQUIRED, valid until the instant.
    pending: HashMap<String, Instant>,
    /// Rebalance: members not rejoined by then are dropped.
    rebalance_deadline: Instant,
    /// Rebalance: it may not complete before this (initial delay of a new group).
    complete_not_before: Instant,
}

impl Group {
    fn new() -> Self {
        let now = Instant::now();
        Group {
            state: GroupState::Empty,
            generation: 0,
            protocol_type: None,
            protocol: None,
            leader: None,
            members: BTreeMap::new(),
            pending: HashMap::new(),
            rebalance_deadline: now,
            complete_not_before: now,
        }
    }

    fn member_by_instance(&self, instance: &str) -> Option<String> {
        self.members
            .values()
            .find(|m| m.instance_id.as_deref() == Some(instance))
            .map(|m| m.id.clone())
    }

    /// Whether `protocols` shares at least one protocol with every current member.
    fn supports(&self, protocols: &[(String, Bytes)]) -> bool {
        if self.members.is_empty() {
            return !protocols.is_empty();
        }
        protocols.iter().any(|(name, _)| {
            self.members
                .values()
                .all(|m| m.protocols.iter().any(|(n, _)| n == name))
        })
    }

    fn prepare_rebalance(&mut self, config: &GroupConfig) {
        let now = Instant::now();
        if self.state == GroupState::CompletingRebalance {
            for m in self.members.values_mut() {
                m.assignment = Bytes::new();
                if let Some(w) = m.sync_waiter.take() {
                    let _ = w.send(SyncResult::error(ResponseError::RebalanceInProgress));
                }
            }
        }
        let timeout = self
            .members
            .values()
            .map(|m| m.rebalance_timeout)
            .max()
            .unwrap_or_default();
        if self.state == GroupState::Empty {
            self.complete_not_before = now + config.initial_rebalance_delay;
        } else if self.state != GroupState::PreparingRebalance {
            self.complete_not_before = now;
        }
        if self.state != GroupState::PreparingRebalance {
            self.rebalance_deadline = now + timeout;
        }
        self.state = GroupState::PreparingRebalance;
    }

    /// Completes the join phase if every member has rejoined (or the deadline passed).
    fn maybe_complete_join(&mut self, now: Instant) {
        if self.state != GroupState::PreparingRebalance {
            return;
        }
        let all_joined = self.members.values().all(|m| m.join_waiter.is_some());
        let can = (all_joined && now >= self.complete_not_before) || now >= self.rebalance_deadline;
        if !can {
            return;
        }
        self.members.retain(|_, m| m.join_waiter.is_some());
        self.generation += 1;
        if self.members.is_empty() {
            self.state = GroupState::Empty;
            self.protocol = None;
            self.leader = None;
            return;
        }
        // The protocol every member supports that most members prefer.
        let candidates: Vec<String> = self
            .members
            .values()
            .next()
            .map(|m| {
                m.protocols
                    .iter()
                    .map(|(n, _)| n.clone())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
            .into_iter()
            .filter(|n| {
                self.members
                    .values()
                    .all(|m| m.protocols.iter().any(|(p, _)| p == n))
            })
            .collect();
        let mut votes: Vec<(usize, usize, String)> = candidates
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let v = self
                    .members
                    .values()
                    .filter(|m| {
                        m.protocols
                            .iter()
                            .find(|(p, _)| candidates.contains(p))
                            .is_some_and(|(p, _)| p == c)
                    })
                    .count();
                (v, usize::MAX - i, c.clone())
            })
            .collect();
        votes.sort();
        let protocol = votes.pop().map(|(_, _, p)| p).unwrap_or_default();
        let leader = match &self.leader {
            Some(l) if self.members.contains_key(l) => l.clone(),
            _ => self.members.keys().next().cloned().unwrap_or_default(),
        };
        self.protocol = Some(protocol.clone());
        self.leader = Some(leader.clone());
        self.state = GroupState::CompletingRebalance;
        let all: Vec<(String, Option<String>, Bytes)> = self
            .members
            .values()
            .map(|m| (m.id.clone(), m.instance_id.clone(), m.metadata(&protocol)))
            .collect();
        for m in self.members.values_mut() {
            m.last_heartbeat = now;
            m.assignment = Bytes::new();
            if let Some(w) = m.join_waiter.take() {
                let _ = w.send(JoinResult {
                    error: 0,
                    generation_id: self.generation,
                    protocol_type: self.protocol_type.clone(),
                    protocol_name: Some(protocol.clone()),
                    leader: leader.clone(),
                    member_id: m.id.clone(),
                    members: if m.id == leader {
                        all.clone()
                    } else {
                        Vec::new()
                    },
                });
            }
        }
    }

    fn current_join(&self, member_id: &str) -> JoinResult {
        JoinResult {
            error: 0,
            generation_id: self.generation,
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol.clone(),
            leader: self.leader.clone().unwrap_or_default(),
            member_id: member_id.to_string(),
            members: Vec::new(),
        }
    }

    fn remove_member(&mut self, id: &str, config: &GroupConfig) {
        if let Some(mut m) = self.members.remove(id) {
            if let Some(w) = m.join_waiter.take() {
                let _ = w.send(JoinResult::error(ResponseError::UnknownMemberId, id));
            }
            if let Some(w) = m.sync_waiter.take() {
                let _ = w.send(SyncResult::error(ResponseError::UnknownMemberId));
            }
        }
        match self.state {
            GroupState::Stable | GroupState::CompletingRebalance => {
                self.prepare_rebalance(config);
                // With no member left the group is Empty at once, as Kafka answers LeaveGroup.
                self.maybe_complete_join(Instant::now());
            }
            GroupState::PreparingRebalance => self.maybe_complete_join(Instant::now()),
            GroupState::Empty => {}
        }
    }
}

/// The coordinator of every group of this broker.
#[derive(Debug, Default)]
pub struct GroupCoordinator {
    config: GroupConfig,
    groups: Mutex<HashMap<String, Group>>,
}

fn new_member_id(client_id: &str) -> String {
    format!(
        "{}-{}",
        if client_id.is_empty() {
            "member"
        } else {
            client_id
        },
        uuid::Uuid::new_v4()
    )
}

impl GroupCoordinator {
    /// A coordinator with these settings.
    pub fn new(config: GroupConfig) -> Self {
        GroupCoordinator {
            config,
            groups: Mutex::new(HashMap::new()),
        }
    }

    /// JoinGroup.
    pub fn join(&self, req: JoinRequest) -> Reply<JoinResult> {
        let cfg = &self.config;
        if req.session_timeout < cfg.min_session_timeout
            || req.session_timeout > cfg.max_session_timeout
        {
            return Reply::Now(JoinResult::error(
                ResponseError::InvalidSessionTimeout,
                &req.member_id,
            ));
        }
        if req.group_id.is_empty() {
            return Reply::Now(JoinResult::error(
                ResponseError::InvalidGroupId,
                &req.member_id,
            ));
        }
        let mut groups = self.groups.lock();
        if !req.member_id.is_empty() && !groups.contains_key(&req.group_id) {
            return Reply::Now(JoinResult::error(
                ResponseError::UnknownMemberId,
                &req.member_id,
            ));
        }
        let group = groups
            .entry(req.group_id.clone())
            .or_insert_with(Group::new);
        let type_mismatch = !group.members.is_empty()
            && group.protocol_type.as_deref() != Some(req.protocol_type.as_str());
        if type_mismatch || req.protocols.is_empty() || !group.supports(&req.protocols) {
            return Reply::Now(JoinResult::error(
                ResponseError::InconsistentGroupProtocol,
                &req.member_id,
            ));
        }
        let now = Instant::now();
        let (tx, rx) = oneshot::channel();
        let mut member_id = req.member_id.clone();

        if member_id.is_empty() {
            member_id = new_member_id(&req.client_id);
            if let Some(instance) = &req.group_instance_id {
                if let Some(old_id) = group.member_by_instance(instance) {
                    // A static member rejoins: the new id replaces the old one, which is fenced.
                    let mut old = group
                        .members
                        .remove(&old_id)
                        .expect("member by instance exists");
                    if let Some(w) = old.join_waiter.take() {
                        let _ = w.send(JoinResult::error(ResponseError::FencedInstanceId, &old_id));
                    }
                    if let Some(w) = old.sync_waiter.take() {
                        let _ = w.send(SyncResult::error(ResponseError::FencedInstanceId));
                    }
                    let same_protocols = old.protocols == req.protocols;
                    let was_leader = group.leader.as_deref() == Some(old_id.as_str());
                    if was_leader {
                        group.leader = Some(member_id.clone());
                    }
                    group.members.insert(
                        member_id.clone(),
                        Member::new(&member_id, &req, old.assignment.clone()),
                    );
                    if group.state == GroupState::Stable && same_protocols && !was_leader {
                        return Reply::Now(group.current_join(&member_id));
                    }
                    if group.state != GroupState::PreparingRebalance {
                        group.prepare_rebalance(cfg);
                    }
                    if let Some(m) = group.members.get_mut(&member_id) {
                        m.join_waiter = Some(tx);
                    }
                    group.maybe_complete_join(Instant::now());
                    return Reply::Later(rx);
                }
            } else if req.require_known_member_id {
                let expiry = now + req.session_timeout;
                group.pending.insert(member_id.clone(), expiry);
                return Reply::Now(JoinResult::error(
                    ResponseError::MemberIdRequired,
                    &member_id,
                ));
            }
        } else if !group.members.contains_key(&member_id)
            && group.pending.remove(&member_id).is_none()
        {
            return Reply::Now(JoinResult::error(
                ResponseError::UnknownMemberId,
                &member_id,
            ));
        }

        if group.members.is_empty() {
            group.protocol_type = Some(req.protocol_type.clone());
        }
        let known = group.members.contains_key(&member_id);
        if known {
            let m = group.members.get_mut(&member_id).expect("known member");
            let changed = m.protocols != req.protocols;
            m.protocols = req.protocols.clone();
            m.session_timeout = req.session_timeout;
            m.rebalance_timeout = req.rebalance_timeout;
            m.last_heartbeat = now;
            let is_leader = group.leader.as_deref() == Some(member_id.as_str());
            match group.state {
                GroupState::CompletingRebalance | GroupState::Stable if !changed && !is_leader => {
                    return Reply::Now(group.current_join(&member_id));
                }
                GroupState::PreparingRebalance => {}
                _ => group.prepare_rebalance(cfg),
            }
        } else {
            group.members.insert(
                member_id.clone(),
                Member::new(&member_id, &req, Bytes::new()),
            );
            if group.state != GroupState::PreparingRebalance {
                group.prepare_rebalance(cfg);
            } else {
                let timeout = req.rebalance_timeout;
                if now + timeout > group.rebalance_deadline && group.generation == 0 {
                    group.rebalance_deadline = now + timeout;
                }
            }
        }
        if let Some(m) = group.members.get_mut(&member_id) {
            if let Some(old) = m.join_waiter.replace(tx) {
                let _ = old.send(JoinResult::error(
                    ResponseError::UnknownMemberId,
                    &member_id,
                ));
            }
        }
        group.maybe_complete_join(Instant::now());
        Reply::Later(rx)
    }

    /// SyncGroup.
    pub fn sync(
        &self,
        group_id: &str,
        generation: i32,
        member_id: &str,
        protocol: (Option<String>, Option<String>),
        assignments: Vec<(String, Bytes)>,
    ) -> Reply<SyncResult> {
        let mut groups = self.groups.lock();
        let Some(group) = groups.get_mut(group_id) else {
            return Reply::Now(SyncResult::error(ResponseError::UnknownMemberId));
        };
        if !group.members.contains_key(member_id) {
            return Reply::Now(SyncResult::error(ResponseError::UnknownMemberId));
        }
        if generation != group.generation {
            return Reply::Now(SyncResult::error(ResponseError::IllegalGeneration));
        }
        let (ptype, pname) = protocol;
        if ptype.is_some_and(|t| Some(&t) != group.protocol_type.as_ref())
            || pname.is_some_and(|n| Some(&n) != group.protocol.as_ref())
        {
            return Reply::Now(SyncResult::error(ResponseError::InconsistentGroupProtocol));
        }
        let ok = |g: &Group, assignment: Bytes| SyncResult {
            error: 0,
            protocol_type: g.protocol_type.clone(),
            protocol_name: g.protocol.clone(),
            assignment,
        };
        match group.state {
            GroupState::PreparingRebalance => {
                Reply::Now(SyncResult::error(ResponseError::RebalanceInProgress))
            }
            GroupState::Empty => Reply::Now(SyncResult::error(ResponseError::UnknownMemberId)),
            GroupState::Stable => {
                let assignment = group.members[member_id].assignment.clone();
                Reply::Now(ok(group, assignment))
            }
            GroupState::CompletingRebalance => {
                let (tx, rx) = oneshot::channel();
                if let Some(m) = group.members.get_mut(member_id) {
                    m.sync_waiter = Some(tx);
                    m.last_heartbeat = Instant::now();
                }
                if group.leader.as_deref() == Some(member_id) {
                    let mut given: HashMap<String, Bytes> = assignments.into_iter().collect();
                    for m in group.members.values_mut() {
                        m.assignment = given.remove(&m.id).unwrap_or_default();
                    }
                    group.state = GroupState::Stable;
                    let (ptype, pname) = (group.protocol_type.clone(), group.protocol.clone());
                    for m in group.members.values_mut() {
                        if let Some(w) = m.sync_waiter.take() {
                            let _ = w.send(SyncResult {
                                error: 0,
                                protocol_type: ptype.clone(),
                                protocol_name: pname.clone(),
                                assignment: m.assignment.clone(),
                            });
                        }
                    }
                }
                Reply::Later(rx)
            }
        }
    }

    /// Heartbeat: the error code to answer with.
    pub fn heartbeat(&self, group_id: &str, generation: i32, member_id: &str) -> i16 {
        let mut groups = self.groups.lock();
        let Some(group) = groups.get_mut(group_id) else {
            return ResponseError::UnknownMemberId.code();
        };
        let state = group.state;
        let current = group.generation;
        let Some(m) = group.members.get_mut(member_id) else {
            return ResponseError::UnknownMemberId.code();
        };
        m.last_heartbeat = Instant::now();
        if state == GroupState::PreparingRebalance {
            return ResponseError::RebalanceInProgress.code();
        }
        if generation != current {
            return ResponseError::IllegalGeneration.code();
        }
        0
    }

    /// LeaveGroup for one member (by member id, or by instance id when the member id is empty):
    /// the error code for that member.
    pub fn leave(&self, group_id: &str, member_id: &str, instance_id: Option<&str>) -> i16 {
        let mut groups = self.groups.lock();
        let Some(group) = groups.get_mut(group_id) else {
            return ResponseError::UnknownMemberId.code();
        };
        let id = if member_id.is_empty() {
            match instance_id.and_then(|i| group.member_by_instance(i)) {
                Some(id) => id,
                None => return ResponseError::UnknownMemberId.code(),
            }
        } else {
            member_id.to_string()
        };
        if let Some(instance) = instance_id {
            if group
                .members
                .get(&id)
                .is_some_and(|m| m.instance_id.as_deref() != Some(instance))
            {
                return ResponseError::FencedInstanceId.code();
            }
        }
        if !group.members.contains_key(&id) {
            return ResponseError::UnknownMemberId.code();
        }
        group.remove_member(&id, &self.config);
        0
    }

    /// Checks an offset commit against the group's membership: the error code, 0 if it may be
    /// written. A commit with generation -1 and no member id (a consumer that assigns partitions
    /// itself) is accepted while the group has no members.
    pub fn validate_commit(&self, group_id: &str, generation: i32, member_id: &str) -> i16 {
        let mut groups = self.groups.lock();
        let group = groups
            .entry(group_id.to_string())
            .or_insert_with(Group::new);
        if generation < 0 && member_id.is_empty() {
            return if group.members.is_empty() {
                0
            } else {
                ResponseError::UnknownMemberId.code()
            };
        }
        let Some(m) = group.members.get_mut(member_id) else {
            return ResponseError::UnknownMemberId.code();
        };
        m.last_heartbeat = Instant::now();
        if generation != group.generation {
            return ResponseError::IllegalGeneration.code();
        }
        if group.state == GroupState::CompletingRebalance {
            return ResponseError::RebalanceInProgress.code();
        }
        0
    }

    /// Makes sure a group exists (an empty one), e.g. for committed offsets read at start-up.
    pub fn ensure_group(&self, group_id: &str) {
        self.groups
            .lock()
            .entry(group_id.to_string())
            .or_insert_with(Group::new);
    }

    /// Every group: (id, protocol type, state).
    pub fn list(&self) -> Vec<(String, String, GroupState)> {
        let groups = self.groups.lock();
        let mut out: Vec<_> = groups
            .iter()
            .map(|(id, g)| {
                (
                    id.clone(),
                    g.protocol_type.clone().unwrap_or_default(),
                    g.state,
                )
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// One group's description, `None` if it does not exist.
    pub fn describe(&self, group_id: &str) -> Option<GroupDescription> {
        let groups = self.groups.lock();
        let g = groups.get(group_id)?;
        let protocol = g.protocol.clone().unwrap_or_default();
        Some(GroupDescription {
            state: g.state,
            protocol_type: g.protocol_type.clone().unwrap_or_default(),
            protocol: protocol.clone(),
            members: g
                .members
                .values()
                .map(|m| {
                    let meta = m.metadata(&protocol);
                    (
                        m.id.clone(),
                        m.instance_id.clone(),
                        m.client_id.clone(),
                        m.client_host.clone(),
                        meta,
                        m.assignment.clone(),
                    )
                })
                .collect(),
        })
    }

    /// Topics the members of a group subscribe to (parsed from the consumer protocol metadata).
    pub fn subscribed_topics(&self, group_id: &str) -> Vec<String> {
        let groups = self.groups.lock();
        let Some(g) = groups.get(group_id) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for m in g.members.values() {
            for (_, meta) in &m.protocols {
                out.extend(parse_subscription(meta));
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// Removes a group that has no members: `Ok`, or the error code.
    pub fn delete(&self, group_id: &str) -> Result<(), i16> {
        let mut groups = self.groups.lock();
        match groups.get(group_id) {
            None => Err(ResponseError::GroupIdNotFound.code()),
            Some(g) if !g.members.is_empty() => Err(ResponseError::NonEmptyGroup.code()),
            Some(_) => {
                groups.remove(group_id);
                Ok(())
            }
        }
    }

    /// Whether the group exists.
    pub fn exists(&self, group_id: &str) -> bool {
        self.groups.lock().contains_key(group_id)
    }

    /// Expires members whose session ran out, drops members that did not rejoin in time, completes
    /// rebalances whose waiting is over. Called every few tens of milliseconds.
    pub fn tick(&self) {
        let now = Instant::now();
        let mut groups = self.groups.lock();
        for (id, group) in groups.iter_mut() {
            group.pending.retain(|_, expiry| *expiry > now);
            if group.state != GroupState::PreparingRebalance {
                let expired: Vec<String> = group
                    .members
                    .values()
                    .filter(|m| {
                        m.join_waiter.is_none()
                            && now.duration_since(m.last_heartbeat) > m.session_timeout
                    })
                    .map(|m| m.id.clone())
                    .collect();
                for member in expired {
                    tracing::info!(group = %id, member = %member, "member session expired");
                    group.remove_member(&member, &self.config);
                }
            }
            group.maybe_complete_join(Instant::now());
        }
    }

    /// Answers every waiting join and sync at shutdown, so that no client hangs.
    pub fn shutdown(&self) {
        let mut groups = self.groups.lock();
        for group in groups.values_mut() {
            for m in group.members.values_mut() {
                if let Some(w) = m.join_waiter.take() {
                    let _ = w.send(JoinResult::error(
                        ResponseError::CoordinatorNotAvailable,
                        &m.id,
                    ));
                }
                if let Some(w) = m.sync_waiter.take() {
                    let _ = w.send(SyncResult::error(ResponseError::CoordinatorNotAvailable));
                }
            }
        }
    }
}

/// Topics of a consumer-protocol subscription: `version i16, topics [string]` (further fields are
/// ignored). Garbage yields no topics.
pub fn parse_subscription(meta: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    if meta.len() < 6 {
        return out;
    }
    let count = i32::from_be_bytes([meta[2], meta[3], meta[4], meta[5]]);
    let mut pos = 6;
    for _ in 0..count.clamp(0, 100_000) {
        let Some(len) = meta
            .get(pos..pos + 2)
            .map(|b| i16::from_be_bytes([b[0], b[1]]))
        else {
            break;
        };
        pos += 2;
        let Some(name) = meta.get(pos..pos + len.max(0) as usize) else {
            break;
        };
        out.push(String::from_utf8_lossy(name).into_owned());
        pos += len.max(0) as usize;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(member: &str, instance: Option<&str>) -> JoinRequest {
        JoinRequest {
            group_id: "g".into(),
            member_id: member.into(),
            group_instance_id: instance.map(String::from),
            client_id: "c".into(),
            client_host: "/127.0.0.1".into(),
            session_timeout: Duration::from_secs(10),
            rebalance_timeout: Duration::from_secs(10),
            protocol_type: "consumer".into(),
            protocols: vec![("range".into(), Bytes::from_static(b"meta"))],
            require_known_member_id: true,
        }
    }

    #[track_caller]
    fn joined(reply: Reply<JoinResult>) -> impl std::future::Future<Output = JoinResult> {
        let caller = std::panic::Location::caller();
        async move {
            match reply {
                Reply::Now(r) => r,
                Reply::Later(rx) => tokio::time::timeout(Duration::from_secs(5), rx)
                    .await
                    .unwrap_or_else(|_| panic!("join at {caller} never answered"))
                    .unwrap(),
            }
        }
    }

    fn coordinator() -> GroupCoordinator {
        GroupCoordinator::new(GroupConfig {
            initial_rebalance_delay: Duration::ZERO,
            ..Default::default()
        })
    }

    #[tokio::test]
    async fn two_members_rebalance() {
        let c = coordinator();
        let first = joined(c.join(req("", None))).await;
        assert_eq!(first.error, ResponseError::MemberIdRequired.code());
        let a = joined(c.join(req(&first.member_id, None))).await;
        assert_eq!((a.error, a.generation_id), (0, 1));
        assert_eq!(a.leader, a.member_id);
        let Reply::Later(rx) = c.sync(
            "g",
            1,
            &a.member_id,
            (None, None),
            vec![(a.member_id.clone(), Bytes::from_static(b"A"))],
        ) else {
            panic!()
        };
        assert_eq!(rx.await.unwrap().assignment, Bytes::from_static(b"A"));

        // A second member: the first learns of the rebalance from its heartbeat and rejoins.
        let b_id = joined(c.join(req("", None))).await.member_id;
        let b_reply = c.join(req(&b_id, None));
        assert_eq!(
            c.heartbeat("g", 1, &a.member_id),
            ResponseError::RebalanceInProgress.code()
        );
        let a2 = joined(c.join(req(&a.member_id, None))).await;
        let b2 = joined(b_reply).await;
        assert_eq!((a2.generation_id, b2.generation_id), (2, 2));
        assert_eq!(a2.members.len(), 2);
        assert!(b2.members.is_empty());
        let b_sync = c.sync("g", 2, &b_id, (None, None), vec![]);
        let a_sync = c.sync(
            "g",
            2,
            &a.member_id,
            (None, None),
            vec![
                (a.member_id.clone(), Bytes::from_static(b"1")),
                (b_id.clone(), Bytes::from_static(b"2")),
            ],
        );
        let Reply::Later(b_rx) = b_sync else { panic!() };
        let Reply::Later(a_rx) = a_sync else { panic!() };
        assert_eq!(b_rx.await.unwrap().assignment, Bytes::from_static(b"2"));
        assert_eq!(a_rx.await.unwrap().assignment, Bytes::from_static(b"1"));
        assert_eq!(c.heartbeat("g", 2, &b_id), 0);
        assert_eq!(
            c.heartbeat("g", 1, &b_id),
            ResponseError::IllegalGeneration.code()
        );

        // B leaves: A must rejoin alone.
        assert_eq!(c.leave("g", &b_id, None), 0);
        assert_eq!(
            c.heartbeat("g", 2, &a.member_id),
            ResponseError::RebalanceInProgress.code()
        );
        let a3 = joined(c.join(req(&a.member_id, None))).await;
        assert_eq!(a3.generation_id, 3);
        assert_eq!(
            c.describe("g").unwrap().state,
            GroupState::CompletingRebalance
        );
        assert_eq!(c.delete("g"), Err(ResponseError::NonEmptyGroup.code()));
    }

    #[tokio::test]
    async fn static_member_rejoins_without_rebalance() {
        let c = coordinator();
        let a = joined(c.join(req("", Some("i1")))).await;
        assert_eq!(a.error, 0);
        let Reply::Later(rx) = c.sync(
            "g",
            1,
            &a.member_id,
            (None, None),
            vec![(a.member_id.clone(), Bytes::from_static(b"X"))],
        ) else {
            panic!()
        };
        rx.await.unwrap();
        // i2 joining starts a rebalance; i1 rejoins to finish it.
        let b = c.join(req("", Some("i2")));
        let a2 = joined(c.join(req(&a.member_id, Some("i1")))).await;
        assert_eq!(a2.generation_id, 2);
        let b = joined(b).await;
        assert_eq!(b.generation_id, 2);
        let Reply::Later(b_rx) = c.sync("g", 2, &b.member_id, (None, None), vec![]) else {
            panic!()
        };
        let assignments = vec![(b.member_id.clone(), Bytes::from_static(b"B"))];
        let Reply::Later(rx) = c.sync("g", 2, &a2.member_id, (None, None), assignments) else {
            panic!()
        };
        rx.await.unwrap();
        b_rx.await.unwrap();
        // i2 restarts (new member id, same instance): no rebalance, same generation, same assignment.
        let again = joined(c.join(req("", Some("i2")))).await;
        assert_eq!((again.error, again.generation_id), (0, 2));
        assert_ne!(again.member_id, b.member_id);
        assert_eq!(
            c.heartbeat("g", 2, &b.member_id),
            ResponseError::UnknownMemberId.code()
        );
        let Reply::Now(sync) = c.sync("g", 2, &again.member_id, (None, None), vec![]) else {
            panic!()
        };
        assert_eq!(sync.assignment, Bytes::from_static(b"B"));
    }

    #[test]
    fn subscription_parsing() {
        let mut meta = vec![0, 1, 0, 0, 0, 2];
        for t in ["orders", "users"] {
            meta.extend_from_slice(&(t.len() as i16).to_be_bytes());
            meta.extend_from_slice(t.as_bytes());
        }
        assert_eq!(parse_subscription(&meta), vec!["orders", "users"]);
        assert!(parse_subscription(&[1, 2, 3]).is_empty());
    }
}
