//! The route table: which app serves `/apps/<slug>/`, at which loopback address, with
//! which published static folder. The gateway's proxy reads it on every request; the
//! pipeline swaps an entry in one step, so a redeploy switches traffic atomically.

use std::{
    collections::HashMap,
    net::SocketAddr,
    path::PathBuf,
    sync::{Arc, RwLock},
};

use crate::runtime::Instance;

/// Where requests for one slug go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub project_id: i32,
    pub deployment_id: i32,
    /// The app's address; `None` for a static-only site.
    pub addr: Option<SocketAddr>,
    /// The published static folder (root-owned copy, no symlinks), if any.
    pub static_dir: Option<PathBuf>,
}

/// A routed app and what stops it.
pub struct App {
    pub route: Route,
    /// The deployment whose job started this instance (for a START, not the build's).
    pub deployment_id: i32,
    pub instance: Instance,
}

/// How long a replaced instance keeps running after traffic moved to its successor,
/// so requests already sent to it finish.
pub const DRAIN: std::time::Duration = std::time::Duration::from_secs(1);

#[derive(Clone, Default)]
pub struct Apps {
    by_slug: Arc<RwLock<HashMap<String, Arc<App>>>>,
    /// Replaced instances still finishing their requests.
    retiring: Arc<std::sync::Mutex<Vec<Arc<App>>>>,
}

impl Apps {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<App>>> {
        self.by_slug
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Arc<App>>> {
        self.by_slug
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn route(&self, slug: &str) -> Option<Route> {
        self.read().get(slug).map(|app| app.route.clone())
    }

    /// Routes `slug` to `app` and returns what served it before (and any other slug the
    /// project had), for the caller to stop once traffic has moved.
    pub fn replace(&self, slug: &str, app: App) -> Vec<Arc<App>> {
        let project_id = app.route.project_id;
        let mut table = self.write();
        let mut old: Vec<Arc<App>> = Vec::new();
        table.retain(|s, existing| {
            let keep = s != slug && existing.route.project_id != project_id;
            if !keep {
                old.push(existing.clone());
            }
            keep
        });
        table.insert(slug.to_owned(), Arc::new(app));
        old
    }

    /// Unroutes a project; returns its app, for the caller to stop.
    pub fn remove_project(&self, project_id: i32) -> Vec<Arc<App>> {
        let mut removed = Vec::new();
        self.write().retain(|_, app| {
            let keep = app.route.project_id != project_id;
            if !keep {
                removed.push(app.clone());
            }
            keep
        });
        removed
    }

    /// The running app of a project.
    pub fn of_project(&self, project_id: i32) -> Option<Arc<App>> {
        self.read()
            .values()
            .find(|app| app.route.project_id == project_id)
            .cloned()
    }

    /// Every routed app, with its slug.
    pub fn all(&self) -> Vec<(String, Arc<App>)> {
        self.read()
            .iter()
            .map(|(slug, app)| (slug.clone(), app.clone()))
            .collect()
    }

    /// Unroutes `app` if it still serves `slug` (not if a redeploy replaced it).
    pub fn remove_exact(&self, slug: &str, app: &Arc<App>) -> bool {
        let mut table = self.write();
        if table
            .get(slug)
            .is_some_and(|current| Arc::ptr_eq(current, app))
        {
            table.remove(slug);
            true
        } else {
            false
        }
    }

    /// Stops a replaced instance after [`DRAIN`], on a thread of its own.
    pub fn retire(&self, app: Arc<App>) {
        self.retiring
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(app.clone());
        let retiring = self.retiring.clone();
        std::thread::spawn(move || {
            std::thread::sleep(DRAIN);
            let mine = {
                let mut list = retiring
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let before = list.len();
                list.retain(|other| !Arc::ptr_eq(other, &app));
                list.len() < before
            };
            // Shutdown may have taken (and stopped) it already.
            if mine {
                app.instance.stop();
            }
        });
    }

    /// Unroutes everything, retiring instances included (shutdown).
    pub fn take_all(&self) -> Vec<Arc<App>> {
        let mut all: Vec<Arc<App>> = self.write().drain().map(|(_, app)| app).collect();
        all.append(
            &mut self
                .retiring
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        all
    }
}
