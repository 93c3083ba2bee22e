//! Consumer groups: the classic-protocol coordinator and the committed-offsets store.

mod coordinator;
mod offsets;

pub use coordinator::{
    GroupConfig, GroupCoordinator, GroupDescription, GroupState, JoinRequest, JoinResult, Reply,
    SyncResult,
};
pub use offsets::{Committed, OffsetStore, OFFSETS_TOPIC};
