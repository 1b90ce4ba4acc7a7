//! A real `shequ-server` process on a fixed port and database, that can be killed with SIGKILL
//! and started again; several of them can serve one PostgreSQL database.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct ServerProcess {
    bin: PathBuf,
    root: PathBuf,
    database_url: String,
    pub port: u16,
    child: Option<Child>,
    pub kills: u32,
}

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the workspace")
}

/// The server binary: `SHEQU_SERVER_BIN`, or the workspace's debug build.
pub fn server_bin() -> PathBuf {
    std::env::var_os("SHEQU_SERVER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/debug/shequ-server"))
}

impl ServerProcess {
    /// Starts a server on a free port with the seeds' plan and areas.
    pub fn start(bin: PathBuf, database_url: String) -> Self {
        Self::start_many(bin, database_url, 1)
            .pop()
            .expect("one server")
    }

    /// Starts `n` servers on one database, all at once, as a deployment starts its processes.
    pub fn start_many(bin: PathBuf, database_url: String, n: usize) -> Vec<Self> {
        let mut servers: Vec<ServerProcess> = (0..n)
            .map(|_| ServerProcess {
                bin: bin.clone(),
                root: workspace(),
                database_url: database_url.clone(),
                port: std::net::TcpListener::bind("127.0.0.1:0")
                    .unwrap()
                    .local_addr()
                    .unwrap()
                    .port(),
                child: None,
                kills: 0,
            })
            .collect();
        let started: Vec<Child> = servers.iter().map(|s| s.launch()).collect();
        for (i, (s, child)) in servers.iter_mut().zip(started).enumerate() {
            assert!(
                s.await_up(child),
                "server process {i} of {n} did not start beside the others"
            );
        }
        servers
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn launch(&self) -> Child {
        assert!(
            self.bin.exists(),
            "no server binary at {} (cargo build -p shequ-server)",
            self.bin.display()
        );
        Command::new(&self.bin)
            .current_dir(&self.root)
            .env("SHEQU_DATABASE_URL", &self.database_url)
            .env("SHEQU_LISTEN", format!("127.0.0.1:{}", self.port))
            .env("SHEQU_PLANS", "seeds")
            .env("SHEQU_SEED_AREAS", "seeds/fufeng-areas.csv")
            .env("SHEQU_DIST", "/nonexistent")
            .env("SHEQU_LOG", "error")
            .env("SHEQU_DEMO", "1")
            .arg("serve")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the server starts")
    }

    /// Whether `child` came up serving; it is kept when it did.
    fn await_up(&mut self, mut child: Child) -> bool {
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        // The first start on an empty database prints the administrator's one-time password
        // before the address.
        let mut line = String::new();
        for _ in 0..3 {
            line.clear();
            if out.read_line(&mut line).unwrap_or(0) == 0 || line.contains("running at") {
                break;
            }
        }
        if line.contains("running at") {
            // Keep reading its stdout so it never blocks on a full pipe.
            std::thread::spawn(move || for _ in out.lines() {});
            self.child = Some(child);
            return true;
        }
        let _ = child.kill();
        let _ = child.wait();
        false
    }

    fn spawn(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let child = self.launch();
            if self.await_up(child) {
                return;
            }
            // The port may still be held by the killed process for a moment.
            assert!(
                Instant::now() < deadline,
                "the server did not come back on port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The process's id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGKILL: no shutdown, no flush; what was committed must survive.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
            self.kills += 1;
        }
    }

    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    pub fn is_up(&self) -> bool {
        self.child.is_some()
    }

    pub fn start_again(&mut self) {
        if self.child.is_none() {
            self.spawn();
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
