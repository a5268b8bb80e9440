/// How the deploying controller signs what the release store serves, and how a host checks it
/// (`ssh-keygen -Y`, OpenSSH 8.1+): a compromised store host can withhold an update, not make
/// a host run a plan the controller did not sign.
public enum PlanSigning {
    /// The signature namespace of a host's plan: a signature made for plans is no good for anything else.
    public static let namespace = "berth-plan"
    /// The signature namespace of the desired state (`desired.json`): a plan's signature cannot
    /// stand for a desired state, nor the other way round.
    public static let desiredNamespace = "berth-desired"
    /// The principal a host's `allowed_signers` names the controller by.
    public static let identity = "berth-deploy"

    /// Signs `file` with the private key `keyFile` for `namespace`; the signature is written to `<file>.sig`.
    public static func sign(keyFile: String, file: String, namespace: String = namespace) -> [String] {
        ["ssh-keygen", "-q", "-Y", "sign", "-f", keyFile, "-n", namespace, file]
    }

    /// Checks `signatureFile` over the bytes on stdin against `allowedSigners`, for `namespace`;
    /// exit 0 means good.
    public static func verify(allowedSigners: String, signatureFile: String, namespace: String = namespace) -> [String] {
        ["ssh-keygen", "-Y", "verify", "-f", allowedSigners, "-I", identity, "-n", namespace, "-s", signatureFile]
    }

    /// The host's `allowed_signers`: the controller's public key (`type base64`), for plans and
    /// desired states only.
    public static func allowedSigners(publicKey: String) -> String {
        let words = publicKey.split(separator: " ").prefix(2).joined(separator: " ")
        return "\(identity) namespaces=\"\(namespace),\(desiredNamespace)\" \(words)\n"
    }

    /// Makes the controller's deploy key (ed25519, no passphrase: `berth` signs unattended).
    public static func makeKey(file: String, comment: String) -> [String] {
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file]
    }
}
