"""Model files shipped with gscp_match: default scoring weights and learned weights, with their cards."""
