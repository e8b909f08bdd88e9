# What install-hub.sh and install-province.sh share, sourced by both after they set src, dest, credentials, ca and
# broker: the hub software and its user, the CA and the broker's certificate, secrets made once, Mosquitto's
# configuration. Every function is idempotent.

install_hub_software() {  # install_hub_software DEBIAN-PACKAGE...: the packages, the hub user, /opt/hub and its venv
  "$src/provision/apt-deps.sh" python3-venv rsync "$@"
  id hub >/dev/null 2>&1 || useradd --system --home /var/lib/hub --shell /usr/sbin/nologin hub
  install -d -o root -g root -m 0755 "$dest" /etc/hub
  install -d -o root -g root -m 0700 "$credentials"
  install -d -o hub -g hub -m 0750 /var/lib/hub
  rsync -a --delete --exclude .venv --exclude var --exclude .git "$src/" "$dest/"
  [[ -x $dest/.venv/bin/python ]] || python3 -m venv --system-site-packages "$dest/.venv"
  "$dest/.venv/bin/python" -m pip install --quiet "$dest[hub]"
  hub=(runuser -u hub -- "$dest/.venv/bin/hub" --log-level WARNING)
}

install_broker_folder() {  # the broker's folder: the hub user rewrites the ACL in it, Mosquitto reads it through its group
  # (the setgid folder gives every new file the group mosquitto); the certificates are root's
  install -d -o hub -g mosquitto -m 2750 "$broker"
  install -d -o root -g mosquitto -m 0750 "$broker/certs"
  [[ -f $broker/passwd ]] || install -o hub -g mosquitto -m 0640 /dev/null "$broker/passwd"
}

install_ca() {  # install_ca --tls-name NAME ...: the CA (made once as the hub user; its key never leaves $ca, which no
  # service can see) and the broker's certificate for the names given (default: hostname -f, or the names it has).
  # Mosquitto gets copies of the public parts and its own key.
  local names=("$@")
  install -d -o hub -g hub -m 0700 "$ca"
  if [[ ${#names[@]} -eq 0 && ! -f $ca/server.crt ]]; then names=(--tls-name "$(hostname -f 2>/dev/null || hostname)"); fi
  "${hub[@]}" ca init --dir "$ca" --name "${ca_name:-vax district CA}" "${names[@]}"
  install -o root -g mosquitto -m 0644 "$ca/ca.crt" "$broker/certs/ca.crt"
  install -o root -g mosquitto -m 0644 "$ca/server.crt" "$broker/certs/server.crt"
  install -o root -g mosquitto -m 0640 "$ca/server.key" "$broker/certs/server.key"
}

make_secret() {  # make_secret NAME BYTES: $credentials/NAME, random hex, root's alone, made once (a systemd credential)
  [[ -s $credentials/$1 ]] || (umask 077; od -An -tx1 -N"$2" /dev/urandom | tr -d ' \n' > "$credentials/$1")
  chown root:root "$credentials/$1"
  chmod 0600 "$credentials/$1"
}

install_broker_config() {  # install_broker_config FILE: ours replaces Debian's mosquitto.conf, which is kept once beside it
  local conf=/etc/mosquitto/mosquitto.conf
  systemctl enable mosquitto.service
  if ! cmp -s "$1" "$conf"; then
    [[ ! -f $conf || -f $conf.dpkg-orig ]] || cp -p "$conf" "$conf.dpkg-orig"
    install -m 0644 "$1" "$conf"
    systemctl restart mosquitto.service  # SIGTERM: Mosquitto saves its sessions and queues before it exits
  else
    systemctl reload-or-restart mosquitto.service  # SIGHUP: the password file, ACL, certificates and CRL are read again
  fi
}
