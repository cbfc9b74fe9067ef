"""ecommerce-guardrails' pure logic: which text is user-authored, what it discloses, what to do."""
