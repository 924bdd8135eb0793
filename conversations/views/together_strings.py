"""The strings of the workspace's tools for agents working together (static/workspace/together.js and
quickreplies.js): notes, transfer, consult, quick replies, search, the customer panel's context."""

from __future__ import annotations

from django.utils.translation import gettext as _


def together_strings() -> dict[str, str]:
    return {
        "send": _("Send"),
        "add_note": _("Add note"),
        "note_label": _("Note"),
        "reply_placeholder": _("Write a reply… (Enter sends, Shift+Enter for a new line, / for quick replies)"),
        "note_placeholder": _("Write an internal note… only agents see it (Enter adds it)"),
        "note_failed": _("The note was not saved"),
        "search_one": _("%(count)s match (Enter: next)"),
        "search_many": _("%(count)s matches (Enter: next)"),
        "transfer_tip": _("Hand the conversation to another agent or queue (Alt+T)."),
        "consult_tip": _("Ask another agent to help; they see the conversation and write notes (Alt+K)."),
        "leave_consult_tip": _("Stop consulting on this conversation."),
        "transfer_title": _("Transfer the conversation"),
        "transfer_intro": _(
            "Choose a queue (routing picks the next agent) or an online agent of this conversation's queue "
            "with room for it. The customer is told."
        ),
        "transfer_submit": _("Transfer"),
        "consult_title": _("Consult another agent"),
        "consult_intro": _(
            "The agent sees this conversation live and can write internal notes; the customer does not see "
            "them. It does not use their capacity."
        ),
        "consult_submit": _("Invite"),
        "loading_targets": _("Loading queues and agents…"),
        "queues_heading": _("Queues"),
        "agents_heading": _("Online agents"),
        "queue_open": _("open"),
        "queue_closed": _("closed now"),
        "agents_available": _("%(count)s available"),
        "free_capacity": _("%(free)s free"),
        "nobody_online": _("No other agent is online."),
        "transfer_not_member": _("not a member of this conversation's queue"),
        "transfer_no_capacity": _("no free capacity for this conversation"),
        "choose_target": _("Choose where the conversation goes."),
        "transferred_to": _("Transferred to %(name)s"),
        "consult_invited": _("%(name)s is invited to consult"),
        "consult_request": _("Help requested"),
        "consult_request_body": _("%(name)s asks for your help with %(customer)s."),
        "consult_ended": _("Consultation ended"),
        "consult_ended_body": _("%(name)s ended your consultation."),
        "consult_over": _("Your consultation has ended. The conversation is read-only for you."),
        "consulting_banner": _("You are consulting: only agents see your notes."),
        "consulting_banner_from": _("You are consulting for %(name)s: only agents see your notes."),
        "consulting_badge": _("Consulting"),
        "consultants_label": _("Consulting:"),
        "end_consult_of": _("End the consultation of %(name)s"),
        "no_quick_replies": _("No quick reply matches."),
        "read_earlier": _("Read"),
        "read_earlier_of": _("Read the conversation of %(when)s"),
        "earlier_title": _("Conversation of %(when)s"),
        "earlier_truncated": _("Only the latest messages are shown."),
        "loading": _("Loading…"),
    }
