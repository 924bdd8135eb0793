"""The strings of the widget's customer-journey screens (static/widget/journey.js), translated."""

from __future__ import annotations

from django.utils.translation import gettext as _


def journey_strings() -> dict[str, str]:
    return {
        "choose": _("Choose…"),
        "back_at": _("We are back on %(when)s."),
        "leave_title_offline": _("We're closed right now"),
        "leave_title_busy": _("Nobody is available right now"),
        "pick_stars": _("Choose from 1 to 5 stars."),
        "thanks_rating": _("Thank you for your rating!"),
        "show_earlier": _("Show earlier conversations"),
        "earlier_conversation": _("Conversation of %(date)s"),
        "conversation_closed": _("Conversation closed"),
        "open_file": _("Open"),
        "download_file": _("Download"),
        "file_too_big": _("This file is too big to send."),
        "file_type": _("This type of file cannot be sent. Send images, PDF, plain text or office documents."),
        "file_empty": _("The file is empty."),
        "file_failed": _("The file could not be sent."),
        "uploading": _("Uploading %(name)s"),
        "remove_file": _("Remove %(name)s"),
        "transcript_failed": _("The transcript could not be made. Try again."),
        "transcript_sent": _("The transcript is on its way to %(email)s."),
        "emails_on": _("We will email you replies you have not seen."),
        "emails_off": _("We will not email you any more."),
        "attachment": _("Attachment"),
        "wait_upload": _("Wait until the files are uploaded."),
        "rated": _("%(name)s rated the conversation %(stars)s"),
    }
