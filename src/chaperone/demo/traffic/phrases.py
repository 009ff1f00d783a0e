"""The canned words of the traffic: subjects and bodies by topic, and Slack chatter."""

from __future__ import annotations

SUBJECTS = {
    "student": (
        "Homework for this week", "Missing assignment", "Lab report feedback", "Reading list",
        "Project groups", "Quiz on Friday", "Extra help hours", "Club meeting",
        "Essay draft comments", "Make-up test",
    ),
    "parent": (
        "Progress update", "Parent-teacher conference", "Field trip permission",
        "Attendance question", "Picture day", "Bus schedule change", "Thank you",
        "Report card question", "Volunteer sign-up", "Schedule a call",
    ),
    "staff": (
        "Staff meeting agenda", "Duty schedule", "Room change", "Professional development day",
        "Testing schedule", "Sub plans", "Budget request", "Department meeting notes",
        "Fire drill Tuesday", "Coverage request",
    ),
    "peer": ("Group project", "Notes from class", "Study session", "Club poster", "Science fair"),
    "outside": (
        "Monthly newsletter", "Upcoming webinar", "New classroom resources", "Your weekly digest",
        "Conference registration is open", "Product update",
    ),
}  # fmt: skip
BODIES = {
    "student": (
        "Please finish the worksheet before class.", "I posted the rubric, take a look.",
        "You can come by during lunch for extra help.", "Nice work on the last draft.",
    ),
    "parent": (
        "Thank you for your note, I will follow up this week.",
        "Could we find a time to talk next week?", "Just a quick update on this week.",
        "The permission form is due on Friday.",
    ),
    "staff": (
        "Please see the notes below.", "Can you cover this one? Thanks.",
        "Agenda attached in the shared folder.", "Reminder for tomorrow.",
    ),
    "peer": ("Can we meet after school?", "Here are my notes.", "See you at practice."),
    "outside": ("Read this month's issue online.", "Register now, seats are limited."),
}  # fmt: skip
STAFF_CHAT = (
    "Reminder: staff meeting at 3:15 in the library.", "Can someone cover my duty Thursday?",
    "The copier on the second floor is fixed.", "Coffee in the lounge, help yourselves.",
    "Updated bus list is in the shared drive.", "Who has the spare projector?",
    "Great assembly today, thanks everyone.", "Fire drill at 10:30 tomorrow.",
)  # fmt: skip
CLUB_CHAT = (
    "Practice moved to Wednesday.", "Who can bring the spare battery?",
    "The drive base works now!", "Competition forms are due Friday.",
    "Great job at the scrimmage.", "Room 214 after school today.",
)  # fmt: skip
