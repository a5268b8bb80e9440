# shellcheck shell=bash
# The recipe of the testbed's base image. Sourced by testbed/testbed.
#
# The image id is a hash of IMAGE_SUITE, IMAGE_PACKAGES and the body of customize_image (comments
# excluded), so changing the recipe makes `testbed image` / `testbed up` build a new image instead
# of silently reusing a stale one.

IMAGE_SUITE=bookworm

# What a Berth target host has. PostgreSQL is installed but not enabled (tests start it when they
# need it). No libpam-systemd: ssh logins then don't start a per-user systemd, which keeps hosts
# small and logins fast.
IMAGE_PACKAGES=(
    systemd systemd-sysv dbus openssh-server nginx-light postgresql python3
    rsync curl ca-certificates iproute2 tar gzip procps sudo
)

# Units that have nothing to do in a host that shares the machine's kernel, or that would touch
# the machine itself. Masking them keeps `systemctl is-system-running` at `running`.
IMAGE_MASKED_UNITS=(
    # there are no ttys and no serial lines; the console is a log file
    getty.target getty@.service serial-getty@.service console-getty.service
    container-getty@.service getty-static.service
    # the network is configured from outside, before boot
    systemd-networkd-wait-online.service systemd-resolved.service
    # the clock and the kernel belong to the machine
    systemd-timesyncd.service systemd-modules-load.service kmod-static-nodes.service
    sys-kernel-debug.mount sys-kernel-tracing.mount sys-kernel-config.mount
    sys-fs-fuse-connections.mount dev-hugepages.mount proc-sys-fs-binfmt_misc.automount
    systemd-binfmt.service systemd-journald-audit.socket
    # no udev: devices are a fixed minimal set made by host-init
    systemd-udevd.service systemd-udev-trigger.service systemd-udev-settle.service
    # periodic jobs that would only reach for the network or for disks that are not there
    apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service
    fstrim.timer dpkg-db-backup.timer
)

# customize_image ROOTFS CLIENT_PUBKEY: turn a fresh debootstrap tree into a testbed host image.
# Runs on the machine with ROOTFS as a plain directory; nothing is booted here.
customize_image() {
    local r=$1 pubkey=$2 unit i

    # Services: ssh and nginx on, PostgreSQL installed but off. SYSTEMD_OFFLINE makes systemctl
    # edit symlinks only (it never talks to a running manager).
    chroot "$r" env SYSTEMD_OFFLINE=1 systemctl enable --quiet ssh.service nginx.service
    chroot "$r" env SYSTEMD_OFFLINE=1 systemctl disable --quiet postgresql.service
    for unit in "${IMAGE_MASKED_UNITS[@]}"; do
        ln -sfn /dev/null "$r/etc/systemd/system/$unit"
    done

    # journald: keep logs in memory only, and little of them.
    mkdir -p "$r/etc/systemd/journald.conf.d"
    printf '[Journal]\nStorage=volatile\nRuntimeMaxUse=16M\nRuntimeMaxFileSize=4M\n' \
        >"$r/etc/systemd/journald.conf.d/berth-testbed.conf"

    # Fail fast instead of waiting 90 s when a test's service does not stop.
    mkdir -p "$r/etc/systemd/system.conf.d"
    printf '[Manager]\nDefaultTimeoutStartSec=30s\nDefaultTimeoutStopSec=10s\n' \
        >"$r/etc/systemd/system.conf.d/berth-testbed.conf"

    # sshd: key-only root login. One host key type (generated per host before its first boot,
    # see prepare_host_disk). Berth multiplexes many commands over one connection and may open
    # many connections at once: raise the limits that would otherwise refuse them.
    cat >"$r/etc/ssh/sshd_config.d/berth-testbed.conf" <<'SSHD'
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
HostKey /etc/ssh/ssh_host_ed25519_key
UseDNS no
MaxSessions 100
MaxStartups 100:30:200
SSHD
    # Host keys made by openssh-server's postinst would be shared by every host: remove them.
    rm -f "$r"/etc/ssh/ssh_host_*

    # The test client key. (host boots also refresh it in the host's own disk)
    install -d -m 700 "$r/root/.ssh"
    printf '%s\n' "$pubkey" >"$r/root/.ssh/authorized_keys"
    chmod 600 "$r/root/.ssh/authorized_keys"

    # Each host gets its own machine id (prepare_host_disk); the image has none.
    : >"$r/etc/machine-id"
    rm -f "$r/var/lib/dbus/machine-id"
    echo berth-image >"$r/etc/hostname"

    # Names of every possible host (addresses are fixed: hN = 10.77.0.(10+N)).
    {
        printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n'
        printf '10.77.0.1\tcontroller\n'
        for ((i = 1; i <= 244; i++)); do printf '10.77.0.%d\th%d\n' $((10 + i)) "$i"; done
    } >"$r/etc/hosts"
    # No DNS server is reachable from a host. With no nameserver line the resolver asks
    # 127.0.0.1, which refuses at once instead of timing out.
    rm -f "$r/etc/resolv.conf"
    printf '# berth testbed: no DNS (names of hosts are in /etc/hosts)\noptions timeout:1 attempts:1\n' \
        >"$r/etc/resolv.conf"

    printf 'LANG=C.UTF-8\n' >"$r/etc/default/locale"

    # Smaller image: downloaded packages are kept in the testbed's deb cache, not in the image.
    rm -rf "$r"/var/cache/apt/archives/*.deb "$r"/var/lib/apt/lists/*
    rm -f "$r"/var/log/*.log "$r"/var/log/apt/*
}

# image_id: short hash of everything that defines the image's content.
image_id() {
    {
        echo "$IMAGE_SUITE"
        printf '%s\n' "${IMAGE_PACKAGES[@]}" "${IMAGE_MASKED_UNITS[@]}"
        declare -f customize_image
    } | sha256sum | cut -c1-12
}
