"""Client API formats (OpenAI, Anthropic, Bedrock-native) and their translation."""
