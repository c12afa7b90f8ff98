/**
 * A private FreeRADIUS for tests: a copy of /etc/freeradius/3.0 in a temp dir (raddbdir pointed at it, so no
 * module is read from /etc), a minimal `default` and `inner-tunnel` site listening only on 127.0.0.1 and the
 * given ports, a users file, and a CA + server certificate made with openssl for PEAP/TTLS. Started in the
 * foreground (-f) and stopped by its pid.
 *
 * With `ldap`, users (and their cleartext `userPassword`) also come from an LDAP server (rlm_ldap, Debian
 * `freeradius-ldap`): the users file is read first (MAB devices), then LDAP, in both the outer site (EAP-MD5,
 * PAP) and the inner tunnel (PEAP/MSCHAPv2, TTLS/PAP). `ldapGroup` additionally refuses users who are not members
 * of that LDAP group (groupOfNames `member`), checked at every login.
 */
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { cpSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './tmp.js';

// (no import of needs.ts: the bench uses this helper outside vitest)
const onPath = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
export const haveFreeradius =
  onPath('freeradius') && onPath('openssl') && existsSync('/etc/freeradius/3.0/radiusd.conf') && process.getuid?.() === 0;

export interface RadiusUser {
  readonly name: string;
  readonly password: string;
  readonly reply?: Readonly<Record<string, string | number>>;
}

export interface FreeRadius {
  readonly dir: string;
  readonly port: number;
  readonly secret: string;
  readonly pid: number;
  readonly caFile: string;
  readonly log: () => string;
  stop(): Promise<void>;
}

function users(list: readonly RadiusUser[]): string {
  return list
    .map((u) => {
      const reply = Object.entries(u.reply ?? {})
        .map(([k, v]) => `\t${k} := ${typeof v === 'number' ? v : JSON.stringify(v)}`)
        .join(',\n');
      return `${JSON.stringify(u.name)} Cleartext-Password := ${JSON.stringify(u.password)}${reply ? '\n' + reply : ''}\n`;
    })
    .join('\n');
}

export interface RadiusLdap {
  /** 127.0.0.1 port of the LDAP server. */
  readonly port: number;
  readonly bindDn: string;
  readonly password: string;
  /** Where users are (uid=NAME under it). */
  readonly usersBase: string;
  /** Where groups are (groupOfNames). */
  readonly groupsBase: string;
  /** Only members of this group may log in (omitted: every user found). */
  readonly requireGroup?: string;
}

function ldapModule(l: RadiusLdap): string {
  const q = (v: string) => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  return `ldap {
	server = '127.0.0.1'
	port = ${l.port}
	identity = ${q(l.bindDn)}
	password = ${q(l.password)}
	base_dn = ${q(l.usersBase)}
	update {
		control:Password-With-Header += 'userPassword'
	}
	user_dn = "LDAP-UserDn"
	user {
		base_dn = "\${..base_dn}"
		filter = "(uid=%{%{Stripped-User-Name}:-%{User-Name}})"
	}
	group {
		base_dn = ${q(l.groupsBase)}
		filter = '(objectClass=groupOfNames)'
		membership_filter = "(member=%{control:\${..user_dn}})"
		name_attribute = cn
		cacheable_name = no
		cacheable_dn = no
	}
	options {
		chase_referrals = no
		rebind = no
		res_timeout = 3
		srv_timelimit = 3
		net_timeout = 1
		idle = 60
		probes = 3
		interval = 3
		ldap_debug = 0x0000
	}
	pool {
		start = 1
		min = 1
		max = 4
		spare = 1
		uses = 0
		retry_delay = 1
		lifetime = 0
		idle_timeout = 60
	}
}
`;
}

export async function startFreeRadius(opts: {
  port: number;
  innerPort: number;
  secret?: string;
  users: readonly RadiusUser[];
  ldap?: RadiusLdap;
}): Promise<FreeRadius> {
  const root = tempDir('acl-radius-');
  const dir = join(root, 'raddb');
  cpSync('/etc/freeradius/3.0', dir, { recursive: true, verbatimSymlinks: true });
  const secret = opts.secret ?? 'testing-secret-123';
  // radiusd.conf: every path under the copy, run as root in the foreground, logs to stdout
  let conf = readFileSync(join(dir, 'radiusd.conf'), 'utf8');
  conf = conf
    .replace(/^raddbdir = .*$/m, `raddbdir = ${dir}`)
    .replace(/^logdir = .*$/m, `logdir = ${root}`)
    .replace(/^run_dir = .*$/m, `run_dir = ${root}`)
    .replace(/^\s*user = freerad$/m, '')
    .replace(/^\s*group = freerad$/m, '');
  writeFileSync(join(dir, 'radiusd.conf'), conf);
  // only our two sites, on loopback and our ports
  for (const f of readdirSync(join(dir, 'sites-enabled'))) unlinkSync(join(dir, 'sites-enabled', f));
  // users from LDAP: found → its userPassword; with requireGroup, a user found there but not in the group is refused
  const g = opts.ldap?.requireGroup;
  const ldapAuthorize = !opts.ldap
    ? ''
    : `\tif (!control:Cleartext-Password) {\n\t\tldap\n${g ? `\t\tif ((ok || updated) && !(LDAP-Group == ${JSON.stringify(g)})) {\n\t\t\treject\n\t\t}\n` : ''}\t}\n`;
  if (opts.ldap) writeFileSync(join(dir, 'mods-enabled', 'ldap'), ldapModule(opts.ldap));
  writeFileSync(
    join(dir, 'sites-enabled', 'default'),
    `server default {
listen {
	type = auth
	ipaddr = 127.0.0.1
	port = ${opts.port}
}
authorize {
	filter_username
	preprocess
	eap {
		ok = return
	}
	files
${ldapAuthorize}	pap
}
authenticate {
	Auth-Type PAP {
		pap
	}
	eap
}
post-auth {
	# PEAP/TTLS: the inner identity (copied out by the inner tunnel) replaces the outer one in the Accept's
	# User-Name (rlm_eap puts the outer identity there, which the supplicant chose freely)
	if (&session-state:User-Name) {
		update reply {
			User-Name := &session-state:User-Name
		}
	}
	Post-Auth-Type REJECT {
		attr_filter.access_reject
		eap
		remove_reply_message_if_eap
	}
}
}
`,
  );
  writeFileSync(
    join(dir, 'sites-enabled', 'inner-tunnel'),
    `server inner-tunnel {
listen {
	ipaddr = 127.0.0.1
	port = ${opts.innerPort}
	type = auth
}
authorize {
	filter_username
	eap {
		ok = return
	}
	files
${ldapAuthorize}	mschap
	pap
}
authenticate {
	Auth-Type PAP {
		pap
	}
	Auth-Type MS-CHAP {
		mschap
	}
	eap
}
post-auth {
	update outer.session-state {
		User-Name := &User-Name
	}
	Post-Auth-Type REJECT {
		attr_filter.access_reject
	}
}
}
`,
  );
  writeFileSync(
    join(dir, 'clients.conf'),
    `client localhost {\n\tipaddr = 127.0.0.1\n\tsecret = ${secret}\n\trequire_message_authenticator = no\n}\n`,
  );
  writeFileSync(join(dir, 'mods-config', 'files', 'authorize'), users(opts.users));
  // certificates for PEAP/TTLS
  const certs = join(root, 'certs');
  execFileSync('mkdir', ['-p', certs]);
  const ssl = (...a: string[]) => execFileSync('openssl', a, { cwd: certs, stdio: 'ignore' });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=sdn-acl test CA');
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=radius.test');
  writeFileSync(join(certs, 'ext.cnf'), 'extendedKeyUsage = serverAuth\n');
  ssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.pem',
    '-days',
    '2',
    '-extfile',
    'ext.cnf',
  );
  let eap = readFileSync(join(dir, 'mods-available', 'eap'), 'utf8');
  eap = eap
    .replace(/private_key_file = .*/, `private_key_file = ${certs}/server.key`)
    .replace(/certificate_file = .*/, `certificate_file = ${certs}/server.pem`)
    .replace(/ca_file = .*/, `ca_file = ${certs}/ca.pem`);
  writeFileSync(join(dir, 'mods-available', 'eap'), eap);
  const out: string[] = [];
  const child: ChildProcess = spawn('freeradius', ['-f', '-d', dir, '-l', 'stdout'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d) => {
    out.push(String(d));
    if (out.length > 2000) out.splice(0, 1000);
  });
  child.stderr!.on('data', (d) => out.push(String(d)));
  const exited = new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
  // a crashed test or bench must not leave it running (stopped by its pid)
  const onExit = () => {
    if (child.exitCode === null)
      try {
        process.kill(child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
  };
  process.on('exit', onExit);
  void exited.then(() => process.off('exit', onExit));
  const ready = await Promise.race([
    new Promise<boolean>((res) => {
      const t = setInterval(() => {
        if (out.join('').includes('Ready to process requests')) {
          clearInterval(t);
          res(true);
        }
      }, 50);
      setTimeout(() => {
        clearInterval(t);
        res(false);
      }, 20_000);
    }),
    exited.then(() => false),
  ]);
  if (!ready) {
    try {
      child.kill('SIGTERM');
    } catch {
      /* gone */
    }
    throw new Error(`FreeRADIUS did not start:\n${out.join('').slice(-3000)}`);
  }
  return {
    dir,
    port: opts.port,
    secret,
    pid: child.pid!,
    caFile: join(certs, 'ca.pem'),
    log: () => out.join(''),
    async stop() {
      if (child.exitCode === null) {
        process.kill(child.pid!, 'SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      }
      if (child.exitCode === null) {
        try {
          process.kill(child.pid!, 'SIGKILL');
        } catch {
          /* gone */
        }
        await exited;
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
}
