//! High Availability (Enterprise cluster mode), reduced to what an installer
//! can observe.
//!
//! Real behaviour the stand-in copies:
//! * Clustering needs an Enterprise build, `ClusterSettings.Enable` AND a
//!   license with `features.cluster` (platform/cluster.go `IsLeader`: "Clustering
//!   can't be enabled without a valid license that supports it"). Otherwise the
//!   node runs alone. The enterprise cluster code is closed source, so the log
//!   line for that case is the stand-in's own (warn, "Cluster mode is not
//!   licensed ... the node runs alone").
//! * A clustered node registers in the `ClusterDiscovery` table (columns Id,
//!   Type `mattermost_cluster`, ClusterName, Hostname, GossipPort, Port,
//!   CreateAt, LastPingAt): at start it removes rows not pinged for 30 minutes
//!   (`CDSOfflineAfterMillis`) and its own previous row (same type, cluster
//!   name, host name), inserts itself, then refreshes LastPingAt every 60 s
//!   (platform/cluster_discovery.go `ClusterDiscoveryService.Start`,
//!   `DiscoveryServiceWritePing`).
//! * It listens on `ClusterSettings.GossipPort` (default 8074) at
//!   `BindAddress` (all interfaces when empty).
//! * `GET /api/v4/cluster/status` (api4/cluster.go `getClusterStatus`, needs
//!   `sysconsole_read_environment_high_availability`, i.e. a system admin)
//!   lists the live nodes as `ClusterInfo` (`id`, `version`,
//!   `schema_version`, `config_hash`, `ipaddress`, `hostname`); without
//!   clustering the list is empty.
//!
//! The gossip protocol is the stand-in's own (one JSON line per TCP
//! connection), not hashicorp/memberlist: a node is live when its gossip port
//! answers. Only the TCP side of the gossip port is opened (memberlist also
//! uses UDP).

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::config::ClusterSettings;
use crate::db::Database;
use crate::error::{Error, Result};
use crate::log::Logger;

/// `model.CDSTypeApp`.
pub const CDS_TYPE_APP: &str = "mattermost_cluster";
/// `model.CDSOfflineAfterMillis`.
pub const CDS_OFFLINE_AFTER_MILLIS: u64 = 30 * 60 * 1000;
/// `DiscoveryServiceWritePing`.
pub const WRITE_PING: Duration = Duration::from_secs(60);
const PEER_TIMEOUT: Duration = Duration::from_secs(2);

/// A running cluster node.
pub struct Cluster {
    pub id: String,
    pub cluster_name: String,
    pub advertise: String,
    pub gossip_port: u16,
    pub info: Value,
    db: Database,
    hub: Arc<crate::ws::Hub>,
}

fn now() -> u64 {
    crate::util::now_millis()
}

fn os_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map_or_else(|_| "localhost".into(), |s| s.trim().to_string())
}

/// The address other nodes reach this one at: `AdvertiseAddress`, else an IP
/// address of this host (`UseIPAddress`), else `OverrideHostname` or the host
/// name.
fn advertise_address(s: &ClusterSettings) -> String {
    if !s.advertise_address.is_empty() {
        return s.advertise_address.clone();
    }
    if s.use_ip_address {
        // The address of the interface with the default route (no packet is sent).
        let ip = std::net::UdpSocket::bind("0.0.0.0:0")
            .and_then(|u| u.connect("192.0.2.1:9").map(|()| u))
            .and_then(|u| u.local_addr())
            .map(|a| a.ip().to_string());
        if let Ok(ip) = ip {
            return ip;
        }
    }
    if !s.override_hostname.is_empty() {
        return s.override_hostname.clone();
    }
    os_hostname()
}

impl Cluster {
    /// Starts clustering: registers the node and opens the gossip port.
    pub fn start(
        settings: &ClusterSettings,
        service_port: u16,
        db: &Database,
        info: Value,
        hub: &Arc<crate::ws::Hub>,
        log: &Arc<Logger>,
    ) -> Result<Arc<Self>> {
        let gossip_port = u16::try_from(settings.gossip_port).map_err(|_| {
            Error::new(format!(
                "invalid ClusterSettings.GossipPort {}",
                settings.gossip_port
            ))
        })?;
        let bind = if settings.bind_address.is_empty() {
            format!("0.0.0.0:{gossip_port}")
        } else if settings.bind_address.contains(':') && !settings.bind_address.starts_with('[') {
            format!("[{}]:{gossip_port}", settings.bind_address)
        } else {
            format!("{}:{gossip_port}", settings.bind_address)
        };
        let listener = TcpListener::bind(&bind).map_err(|e| {
            Error::new(format!(
                "failed to start the cluster: listen tcp {bind}: {e}"
            ))
        })?;
        let id = crate::store::new_id();
        let advertise = advertise_address(settings);
        let mut info = info;
        info["id"] = Value::from(id.clone());
        info["ipaddress"] = Value::from(format!("{advertise}:{gossip_port}"));
        info["hostname"] = Value::from(os_hostname());
        let cluster = Arc::new(Self {
            id,
            cluster_name: settings.cluster_name.clone(),
            advertise,
            gossip_port,
            info,
            db: db.clone(),
            hub: Arc::clone(hub),
        });
        cluster.register(service_port, log)?;
        let answer = Arc::clone(&cluster);
        let glog = Arc::clone(log);
        std::thread::Builder::new()
            .name("gossip".into())
            .spawn(move || answer.serve_gossip(&listener, &glog))
            .map_err(|e| Error::new(format!("failed to start the gossip thread: {e}")))?;
        let pinger = Arc::clone(&cluster);
        let plog = Arc::clone(log);
        std::thread::Builder::new()
            .name("cluster-discovery".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(WRITE_PING);
                    if let Err(e) = pinger.ping() {
                        plog.error(
                            "ClusterDiscoveryService failed to write ping",
                            &[("ClusterDiscoveryID", &pinger.id), ("error", e.message())],
                        );
                    }
                }
            })
            .map_err(|e| Error::new(format!("failed to start the discovery thread: {e}")))?;
        log.info(
            "Cluster mode started",
            &[
                ("cluster_name", &cluster.cluster_name),
                ("node_id", &cluster.id),
                (
                    "gossip_address",
                    &format!("{}:{gossip_port}", cluster.advertise),
                ),
            ],
        );
        Ok(cluster)
    }

    fn register(&self, service_port: u16, log: &Logger) -> Result<()> {
        let l = |s: &str| self.db.literal(s);
        let t = now();
        let cleanup = format!(
            "DELETE FROM ClusterDiscovery WHERE LastPingAt < {};",
            t.saturating_sub(CDS_OFFLINE_AFTER_MILLIS)
        );
        if let Err(e) = self.db.query(&cleanup) {
            log.warn(
                "ClusterDiscoveryService failed to cleanup the outdated cluster discovery information",
                &[("error", e.message())],
            );
        }
        let same = format!(
            "Type = {} AND ClusterName = {} AND Hostname = {} AND GossipPort = {}",
            l(CDS_TYPE_APP),
            l(&self.cluster_name),
            l(&self.advertise),
            self.gossip_port
        );
        if let Err(e) = self
            .db
            .query(&format!("DELETE FROM ClusterDiscovery WHERE {same};"))
        {
            log.warn(
                "ClusterDiscoveryService failed to start clean",
                &[("ClusterDiscoveryID", &self.id), ("error", e.message())],
            );
        }
        self.db
            .query(&format!(
                "INSERT INTO ClusterDiscovery (Id, Type, ClusterName, Hostname, GossipPort, Port, CreateAt, LastPingAt) \
                 VALUES ({}, {}, {}, {}, {}, {service_port}, {t}, {t});",
                l(&self.id),
                l(CDS_TYPE_APP),
                l(&self.cluster_name),
                l(&self.advertise),
                self.gossip_port
            ))
            .map(|_| ())
            .inspect_err(|e| {
                log.error(
                    "ClusterDiscoveryService failed to save",
                    &[("ClusterDiscoveryID", &self.id), ("error", e.message())],
                );
            })
    }

    fn ping(&self) -> Result<()> {
        self.db
            .query(&format!(
                "UPDATE ClusterDiscovery SET LastPingAt = {} WHERE Id = {};",
                now(),
                self.db.literal(&self.id)
            ))
            .map(|_| ())
    }

    fn serve_gossip(&self, listener: &TcpListener, log: &Logger) {
        for conn in listener.incoming() {
            let Ok(mut s) = conn else { continue };
            let _ = s.set_read_timeout(Some(PEER_TIMEOUT));
            let mut line = String::new();
            let mut reader = BufReader::new(&s);
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            if line.trim() == "INFO" {
                let _ = writeln!(s, "{}", self.info);
            } else if let Some(event) = line.trim().strip_prefix("EVENT ") {
                // A WebSocket event published on another node
                // (ClusterEventPublish): to this node's clients only.
                match serde_json::from_str::<Value>(event) {
                    Ok(e) => self.hub.broadcast(&e),
                    Err(e) => log.warn("Invalid cluster event", &[("error", &e.to_string())]),
                }
            } else {
                log.debug("Unknown gossip message", &[("message", line.trim())]);
            }
        }
    }

    /// `(id, host, gossip port)` of the nodes registered under this cluster
    /// name and pinged in the last 30 minutes, without this one.
    fn peers(&self) -> Vec<(String, String, String)> {
        let since = now().saturating_sub(CDS_OFFLINE_AFTER_MILLIS);
        let table = format!(
            "FROM ClusterDiscovery WHERE Type = {} AND ClusterName = {} AND LastPingAt > {since}",
            self.db.literal(CDS_TYPE_APP),
            self.db.literal(&self.cluster_name)
        );
        let Ok(rows) = crate::store::rows(&self.db, &table, &["Id", "Hostname", "GossipPort"])
        else {
            return Vec::new();
        };
        rows.into_iter()
            .filter_map(|r| match r.as_slice() {
                [id, host, port] if *id != self.id => {
                    Some((id.clone(), host.clone(), port.clone()))
                }
                _ => None,
            })
            .collect()
    }

    /// The live nodes (this one first): registered recently and answering on
    /// their gossip port.
    pub fn live_nodes(&self) -> Vec<Value> {
        let mut out = vec![self.info.clone()];
        for (_, host, port) in self.peers() {
            if let Some(info) = ask_info(&host, &port) {
                out.push(info);
            }
        }
        out
    }

    /// Sends a WebSocket event to the other nodes.
    pub fn publish(&self, event: &Value, log: &Logger) {
        for (id, host, port) in self.peers() {
            let sent = connect(&host, &port).and_then(|mut s| {
                writeln!(s, "EVENT {event}").ok()?;
                Some(())
            });
            if sent.is_none() {
                log.debug(
                    "Failed to send a cluster message",
                    &[("node_id", &id), ("address", &format!("{host}:{port}"))],
                );
            }
        }
    }
}

fn connect(host: &str, port: &str) -> Option<TcpStream> {
    let target = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let addr: SocketAddr = target.to_socket_addrs().ok()?.next()?;
    let s = TcpStream::connect_timeout(&addr, PEER_TIMEOUT).ok()?;
    s.set_read_timeout(Some(PEER_TIMEOUT)).ok()?;
    s.set_write_timeout(Some(PEER_TIMEOUT)).ok()?;
    Some(s)
}

fn ask_info(host: &str, port: &str) -> Option<Value> {
    let mut s = connect(host, port)?;
    s.write_all(b"INFO\n").ok()?;
    let mut line = String::new();
    BufReader::new(&s).read_line(&mut line).ok()?;
    serde_json::from_str(line.trim()).ok()
}

/// The `ClusterInfo` of this node before the cluster fills in id and address.
pub fn base_info(version_id: &str) -> Value {
    json!({
        "id": "",
        "version": crate::build_info::VERSION,
        "schema_version": crate::build_info::VERSION,
        "config_hash": version_id.split('.').nth(6).unwrap_or_default(),
        "ipaddress": "",
        "hostname": "",
    })
}
