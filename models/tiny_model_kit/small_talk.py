"""Messages that need no tool, with the one reply the bundled model learns for each kind."""

from __future__ import annotations

import random

INTRODUCTION = (
    "I am a small assistant that runs offline. I can calculate with the calculator tool "
    "and look up facts with the search tool."
)
# (what users write, the reply)
SMALL_TALK = (
    (
        (
            "hi",
            "hello",
            "hey",
            "hi there",
            "hello there",
            "hey there",
            "good morning",
            "good evening",
            "good afternoon",
            "howdy",
            "greetings",
            "yo",
        ),
        "Hello! How can I help you today?",
    ),
    (
        (
            "thanks",
            "thank you",
            "thanks a lot",
            "thank you so much",
            "great, thanks",
            "cheers",
            "many thanks",
            "thx",
            "perfect, thank you",
            "awesome, thanks",
        ),
        "You're welcome!",
    ),
    (
        (
            "who are you",
            "what are you",
            "what can you do",
            "what's your name",
            "what is your name",
            "introduce yourself",
            "tell me about yourself",
            "are you a bot",
            "what tools do you have",
            "help",
        ),
        INTRODUCTION,
    ),
    (
        (
            "how are you",
            "how's it going",
            "how are you doing",
            "how do you do",
            "what's up",
            "how have you been",
        ),
        "I'm doing well, thank you! What can I do for you?",
    ),
    (
        (
            "bye",
            "goodbye",
            "see you",
            "see you later",
            "good night",
            "bye bye",
            "that's all",
            "have a nice day",
        ),
        "Goodbye! Have a nice day.",
    ),
    (
        ("ok", "okay", "cool", "nice", "great", "got it", "i see", "alright", "good", "wow"),
        "Glad to help. Is there anything else you need?",
    ),
)


def small_talk(rng: random.Random) -> tuple[str, str]:
    """A casual message, typed the many ways people type it, and its reply."""
    phrasings, reply = rng.choice(SMALL_TALK)
    text = rng.choice(phrasings)
    if rng.random() < 0.5:
        text = text.capitalize()
    ending = rng.choice(("", "", "!", "?" if reply == INTRODUCTION else ".", "!!"))
    return text + ending, reply
