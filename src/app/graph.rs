//! The graph of the vault, for the GUI's graph view.

use super::{AppError, Vault};
use crate::projection::Graph;

impl Vault {
    /// The graph the graph events describe: read from the read models and lifted with
    /// [`Graph::of_state`], which the projection's faithfulness law (property-tested) proves
    /// equal to folding every graph event — without decoding the whole log.
    pub fn graph(&self) -> Result<Graph, AppError> {
        Ok(Graph::of_state(&self.store.read_state()?))
    }
}
