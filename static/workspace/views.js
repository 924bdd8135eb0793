// Calls back up into the conversation view and the composer. conversation.js and composer.js import the
// list, the notices and the together features, which in turn open a conversation, redraw its messages or
// stop the typing signal: they call those through `views`, which the two fill in when they load (main.js
// imports them before any event can arrive), instead of importing them back (no import circle).
export const views = {};
