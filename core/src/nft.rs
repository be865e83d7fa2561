//! Compiles the model plus one node's local pods into an nftables ruleset. Pure: the agent
//! applies the text. OWNER: agent helper (placeholder).
