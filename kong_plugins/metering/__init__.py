"""Usage accounting: what token-meter records once a request is over."""
