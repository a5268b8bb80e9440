# pyinfra inventory for Benchmarks/run: the test hosts named in PYBENCH_HOSTS ("h5,h6"), reached
# with the testbed's key and known_hosts. Addresses come from PYBENCH_ADDRESSES ("10.77.0.15,...").
import os

_key = os.environ["PYBENCH_SSH_KEY"]
_known = os.environ["PYBENCH_KNOWN_HOSTS"]
_names = os.environ["PYBENCH_HOSTS"].split(",")
_addresses = os.environ["PYBENCH_ADDRESSES"].split(",")

hosts = [
    (name, {
        "ssh_hostname": address,
        "ssh_user": "root",
        "ssh_key": _key,
        "ssh_known_hosts_file": _known,
        "ssh_strict_host_key_checking": "yes",
        "ssh_look_for_keys": False,
        "ssh_allow_agent": False,
    })
    for name, address in zip(_names, _addresses)
]
