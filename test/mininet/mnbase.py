"""
What the two Mininet drivers share (driver.py: the example networks with probes; netdriver.py: general
scenarios): the JSON-lines protocol on stdin/stdout, the commands every test uses (run a shell command on a host,
start and stop a background process by its pid, a host's shell pid), and stopping everything it started — on a
"stop" command, on EOF or on SIGTERM — with net.stop() last. Imported from the drivers' own folder.

Common commands, one JSON line each on stdin, one JSON answer line on stdout:
  {"op": "sh" | "cmd", "host": "h", "cmd": "shell text", "timeout": 10}  -> {"ok": true, "out": stdout+stderr, "rc": 0}
  {"op": "bg", "host": "h", "argv": [...]}                        -> {"ok": true, "id": 3, "pid": 1234}
  {"op": "kill", "id": 3}                                          -> stops that process (by its pid)
  {"op": "pid", "host": "h"}                                       -> {"ok": true, "pid": shell pid of the host}
  {"op": "stop"}                                                   -> stops everything it started, net.stop()
"""
import json
import signal
import subprocess
import sys

from mininet.log import setLogLevel


def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


class DriverBase:
    """A started network (`self.net`, built by the subclass's start()) and the processes started in it."""

    def __init__(self, spec):
        self.spec = spec
        self.net = None
        self.procs = {}
        self.next_id = 1

    def start(self):
        raise NotImplementedError

    def ready(self):
        """The first line the driver writes once the network is up."""
        return {"ok": True, "ready": True}

    def ops(self):
        """The driver's own commands: op name -> function(command) -> answer."""
        return {}

    def host(self, name):
        h = self.net.get(name)
        if h is None:
            raise ValueError("no host %s" % name)
        return h

    def sh(self, name, text, timeout):
        p = self.host(name).popen(["/bin/sh", "-c", text], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            out, _ = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            out, _ = p.communicate()
            return {"ok": True, "out": out.decode("utf8", "replace"), "rc": -1}
        return {"ok": True, "out": out.decode("utf8", "replace"), "rc": p.returncode}

    def bg(self, name, argv):
        p = self.host(name).popen([str(a) for a in argv], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        i = self.next_id
        self.next_id += 1
        self.procs[i] = p
        return {"ok": True, "id": i, "pid": p.pid}

    def kill(self, i):
        p = self.procs.pop(i, None)
        if p is not None:
            try:
                p.terminate()
                p.wait(timeout=5)
            except Exception:
                p.kill()
        return {"ok": True}

    def stop(self):
        for i in list(self.procs):
            self.kill(i)
        if self.net is not None:
            self.net.stop()
            self.net = None


def serve(driver):
    """Starts the network, answers commands until "stop" or EOF, then stops everything (also on SIGTERM)."""
    setLogLevel("error")

    def on_term(*_):
        driver.stop()
        sys.exit(0)

    signal.signal(signal.SIGTERM, on_term)
    ops = {
        "sh": lambda c: driver.sh(c["host"], c["cmd"], float(c.get("timeout", 10))),
        "cmd": lambda c: driver.sh(c["host"], c["cmd"], float(c.get("timeout", 10))),
        "bg": lambda c: driver.bg(c["host"], c["argv"]),
        "kill": lambda c: driver.kill(int(c["id"])),
        "pid": lambda c: {"ok": True, "pid": driver.host(c["host"]).pid},
    }
    ops.update(driver.ops())
    try:
        driver.start()
        reply(driver.ready())
        for line in sys.stdin:
            line = line.strip()
            if not line:
                continue
            try:
                c = json.loads(line)
                op = c.get("op")
                if op == "stop":
                    break
                if op not in ops:
                    reply({"ok": False, "error": "unknown op %s" % op})
                    continue
                reply(ops[op](c))
            except Exception as e:  # a bad command never kills the network silently
                reply({"ok": False, "error": str(e)})
    finally:
        driver.stop()
        reply({"ok": True, "stopped": True})
