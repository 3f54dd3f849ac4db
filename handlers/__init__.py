"""The channel-agnostic core: signals, playbooks, intake, commitments, nudges and input cycles."""
