//! A real directory for the LDAP tests: Debian's `slapd` on loopback, one per test, with a
//! temporary `slapd.conf`, the mdb backend, a small AD-like schema (`userAccountControl`),
//! StartTLS and ldaps with a throw-away CA, a bind account subject to a size limit of 500 (so
//! an unpaged search of the 2,500 bulk users fails and paging is really exercised), and an
//! LDIF loaded with `slapadd`.
//!
//! Needs `slapd`, `ldap-utils` and `openssl` (`DEBIAN_FRONTEND=noninteractive apt-get install
//! -y slapd ldap-utils`). Missing them, a test prints a loud SKIPPED outside CI and **fails**
//! in CI (`CI` set). slapd runs as the test's child in the foreground and is killed on drop.

pub mod samba;
pub mod scenario;

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Suffix of the test directory.
pub const BASE: &str = "dc=example,dc=org";
/// Root DN (not subject to limits; used to change the directory).
pub const ROOT_DN: &str = "cn=admin,dc=example,dc=org";
/// Root password.
pub const ROOT_PW: &str = "root-secret";
/// The account the operator binds as (subject to the size limit).
pub const BIND_DN: &str = "cn=lastpass-sync,ou=services,dc=example,dc=org";
/// Its password.
pub const BIND_PW: &str = "sync-Pa55word";
/// Server size limit for the bind account.
pub const SIZE_LIMIT: usize = 500;

const SLAPD: &str = "/usr/sbin/slapd";
const SLAPADD: &str = "/usr/sbin/slapadd";

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A running slapd; killed and its directory removed on drop.
pub struct Slapd {
    /// `ldap://127.0.0.1:<port>` (StartTLS available).
    pub url: String,
    /// `ldaps://127.0.0.1:<port>`.
    pub ldaps_url: String,
    /// PEM of the CA that signed the server certificate.
    pub ca_pem: String,
    dir: PathBuf,
    child: Child,
}

/// Whether the tools are installed; `None` = skip (outside CI), panics in CI.
fn tools_present() -> bool {
    let missing: Vec<&str> = [SLAPD, SLAPADD, "/usr/bin/ldapmodify", "/usr/bin/openssl"]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let why = format!(
        "missing {missing:?}; install with `DEBIAN_FRONTEND=noninteractive apt-get install -y slapd ldap-utils openssl`"
    );
    if std::env::var_os("CI").is_some() {
        panic!("LDAP tests cannot run in CI: {why}");
    }
    eprintln!("\n=====================================================================");
    eprintln!("SKIPPED LDAP test (real slapd needed): {why}");
    eprintln!("=====================================================================\n");
    false
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.stdin(Stdio::null()).output().expect("command runs");
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const SCHEMA: &str = "\
attributetype ( 1.2.840.113556.1.4.8 NAME 'userAccountControl'
  EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.221 NAME 'sAMAccountName'
  EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.55555.1.1 NAME 'adLikeUser' AUXILIARY
  MAY ( userAccountControl $ sAMAccountName ) )
";

fn make_tls(dir: &Path) {
    let o = |args: &[&str]| run(Command::new("openssl").current_dir(dir).args(args));
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    o(&[
        &["req", "-x509"],
        &ec[..],
        &[
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=lastpass-operator test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    ]
    .concat());
    o(&[
        &["req"],
        &ec[..],
        &[
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    ]
    .concat());
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
         keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    o(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
}

impl Slapd {
    /// Starts slapd with `ldif` (the entries below [`BASE`], see [`Ldif`]). `None`: skipped.
    pub fn start(ldif: &str) -> Option<Slapd> {
        if !tools_present() {
            return None;
        }
        let dir = std::env::temp_dir().join(format!(
            "lpo-slapd-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("db")).unwrap();
        make_tls(&dir);
        std::fs::write(dir.join("adlike.schema"), SCHEMA).unwrap();
        let d = dir.display();
        let conf = format!(
            "include /etc/ldap/schema/core.schema\n\
             include /etc/ldap/schema/cosine.schema\n\
             include /etc/ldap/schema/inetorgperson.schema\n\
             include {d}/adlike.schema\n\
             modulepath /usr/lib/ldap\n\
             moduleload back_mdb\n\
             pidfile {d}/slapd.pid\n\
             argsfile {d}/slapd.args\n\
             TLSCACertificateFile {d}/ca.crt\n\
             TLSCertificateFile {d}/server.crt\n\
             TLSCertificateKeyFile {d}/server.key\n\
             database mdb\n\
             maxsize 268435456\n\
             suffix \"{BASE}\"\n\
             rootdn \"{ROOT_DN}\"\n\
             rootpw {ROOT_PW}\n\
             directory {d}/db\n\
             index objectClass eq\n\
             limits users size.soft={SIZE_LIMIT} size.hard={SIZE_LIMIT} size.prtotal=unlimited\n\
             access to attrs=userPassword by anonymous auth by * none\n\
             access to * by users read by * none\n"
        );
        std::fs::write(dir.join("slapd.conf"), conf).unwrap();
        let mut full = Ldif::base();
        full.push_str(ldif);
        std::fs::write(dir.join("data.ldif"), full).unwrap();
        run(Command::new(SLAPADD)
            .args(["-q", "-f"])
            .arg(dir.join("slapd.conf"))
            .arg("-l")
            .arg(dir.join("data.ldif")));
        let (port, tls_port) = (free_port(), free_port());
        let log = std::fs::File::create(dir.join("slapd.log")).unwrap();
        let child = Command::new(SLAPD)
            .arg("-f")
            .arg(dir.join("slapd.conf"))
            .arg("-h")
            .arg(format!(
                "ldap://127.0.0.1:{port}/ ldaps://127.0.0.1:{tls_port}/"
            ))
            .args(["-d", "0"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("slapd starts");
        let mut slapd = Slapd {
            url: format!("ldap://127.0.0.1:{port}"),
            ldaps_url: format!("ldaps://127.0.0.1:{tls_port}"),
            ca_pem: std::fs::read_to_string(dir.join("ca.crt")).unwrap(),
            dir,
            child,
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect(("127.0.0.1", port)).is_err()
            || TcpStream::connect(("127.0.0.1", tls_port)).is_err()
        {
            if let Ok(Some(status)) = slapd.child.try_wait() {
                panic!("slapd exited ({status}):\n{}", slapd.log());
            }
            assert!(
                Instant::now() < deadline,
                "slapd did not listen:\n{}",
                slapd.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(slapd)
    }

    /// slapd's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("slapd.log")).unwrap_or_default()
    }

    /// Applies an LDIF change set as the root DN (`ldapmodify`).
    pub fn modify(&self, ldif: &str) {
        ldapmodify(&self.url, ROOT_DN, ROOT_PW, ldif);
    }
}

/// Applies an LDIF of changes (`changetype:` records) to the directory at `url` with
/// `ldapmodify`, bound as `bind_dn`; panics with its error and the LDIF's start if it fails.
pub fn ldapmodify(url: &str, bind_dn: &str, password: &str, ldif: &str) {
    let mut child = Command::new("ldapmodify")
        .args(["-x", "-H", url, "-D", bind_dn, "-w", password])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ldapmodify (ldap-utils) runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(ldif.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "ldapmodify failed: {}\n--- LDIF (first 2000 bytes) ---\n{}",
        String::from_utf8_lossy(&out.stderr),
        &ldif[..ldif.len().min(2000)]
    );
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Builds the test LDIF.
pub struct Ldif;

impl Ldif {
    /// The suffix, the OUs and the bind account.
    pub fn base() -> String {
        format!(
            "dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n\
             dn: ou=people,{BASE}\nobjectClass: organizationalUnit\nou: people\n\n\
             dn: ou=groups,{BASE}\nobjectClass: organizationalUnit\nou: groups\n\n\
             dn: ou=services,{BASE}\nobjectClass: organizationalUnit\nou: services\n\n\
             dn: {BIND_DN}\nobjectClass: applicationProcess\nobjectClass: simpleSecurityObject\n\
             cn: lastpass-sync\nuserPassword: {BIND_PW}\n\n"
        )
    }

    /// DN of a person.
    pub fn person_dn(uid: &str) -> String {
        format!("uid={uid},ou=people,{BASE}")
    }

    /// DN of a group.
    pub fn group_dn(cn: &str) -> String {
        format!("cn={cn},ou=groups,{BASE}")
    }

    /// A person: `mail` (None: none), `uac` (None: no userAccountControl), `employee_type`.
    pub fn person(uid: &str, mail: Option<&str>, uac: Option<u32>, employee_type: &str) -> String {
        let mut s = format!(
            "dn: {}\nobjectClass: inetOrgPerson\nobjectClass: adLikeUser\nuid: {uid}\ncn: {uid}\nsn: {uid}\n\
             displayName: Person {uid}\ndepartmentNumber: dept-{}\nemployeeType: {employee_type}\n",
            Self::person_dn(uid),
            uid.len() % 3
        );
        if let Some(m) = mail {
            let _ = writeln!(s, "mail: {m}");
        }
        if let Some(u) = uac {
            let _ = writeln!(s, "userAccountControl: {u}");
        }
        s.push('\n');
        s
    }

    /// A groupOfNames (at least one member, as the schema requires).
    pub fn group(cn: &str, members: &[String]) -> String {
        let mut s = format!(
            "dn: {}\nobjectClass: groupOfNames\ncn: {cn}\n",
            Self::group_dn(cn)
        );
        for m in members {
            let _ = writeln!(s, "member: {m}");
        }
        s.push('\n');
        s
    }

    /// `n` bulk people `bulkNNNN` (`bulkNNNN@example.org`, enabled, employeeType `staff` for
    /// the first `staff` of them and `contractor` for the rest).
    pub fn bulk(n: usize, staff: usize) -> String {
        let mut s = String::with_capacity(n * 300);
        for i in 0..n {
            let uid = format!("bulk{i:04}");
            let kind = if i < staff { "staff" } else { "contractor" };
            s.push_str(&Self::person(
                &uid,
                Some(&format!("{uid}@example.org")),
                Some(512),
                kind,
            ));
        }
        s
    }
}
