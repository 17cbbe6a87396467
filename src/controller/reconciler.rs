//! What the reconcilers get: the shared [`Context`] they read and the account tasks they wake.
//! The task registry stays out of [`Context`], so an account sync (which takes the context)
//! never reaches back to the registry that runs it.

use std::sync::Arc;

use kube::runtime::reflector::ObjectRef;

use crate::crd::DirectoryIntegration;

use super::account_tasks::AccountTasks;
use super::context::Context;

/// The reconcilers' context.
pub struct Reconciler {
    /// Clients, caches and settings shared with the account tasks.
    pub ctx: Arc<Context>,
    /// One account task per DirectoryIntegration.
    pub accounts: AccountTasks,
}

impl Reconciler {
    /// Starts the account task of `key` if it does not run, and wakes it.
    pub fn wake(&self, key: ObjectRef<DirectoryIntegration>) {
        self.accounts.wake(&self.ctx, key);
    }
}
