import Testing

/// Every suite that uses the shared test fleet nests in here, so they run one after another:
/// one crashes hosts that another deploys to.
@Suite(.serialized) enum Integration {}
