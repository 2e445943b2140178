import type { ChatMessage, Person } from './lib/messages.js';
import { REACTORS_NAMED } from './lib/reactions.js';

/** The GraphQL documents the web client sends (see ../../shared/API.graphql). */
const USER = 'id username displayName';
const MESSAGE = `id room seq body status clientMsgId createdAt editedAt author { ${USER} }`;
/** Threads, reactions, mentions and the pin of a message, as a room's log shows them. */
const REACTORS = `users(limit: ${REACTORS_NAMED}) { id displayName }`;
const THREADED = `parentId replyCount lastReplyAt mentionsRoom mentions { id username } pinned`;
/** A message in a room's log or thread; `reactedByMe` makes a subscription's fan-out per viewer. */
const ROOM_MESSAGE = `${MESSAGE} ${THREADED} reactions { emoji count reactedByMe ${REACTORS} }`;
/**
 * For messageAdded, without the per-viewer `reactedByMe`: every new message would otherwise be
 * rendered once per subscriber. A new message has no reactions; a replayed one gets reactedByMe
 * from the reactors named (exact up to REACTORS_NAMED), and the page read after a reconnect
 * gives the exact state.
 */
const ADDED_MESSAGE = `${MESSAGE} ${THREADED} reactions { emoji count ${REACTORS} }`;
/**
 * A message as the pinned list shows it (author, body, its mentions): without reactions, which
 * would cost a read of the room with its pins more than the gateway's budget (GRAPHQL_MAX_COST).
 * These copies feed the pinned list only, never the log.
 */
const PIN_ENTRY = `${MESSAGE} parentId mentionsRoom mentions { id username } pinned`;

export interface AuthPayload {
  token: string;
  expiresAt: string;
  user: Person;
}
export type RoomKind = 'PUBLIC' | 'DIRECT' | 'GROUP';
export type MemberRole = 'OWNER' | 'ADMIN' | 'MEMBER';
export type SiteRole = 'USER' | 'ADMIN';

export interface RoomSummary {
  id: string;
  name: string;
  kind: RoomKind;
  lastSeq: number;
}
export interface ReadReceipt {
  user: Person;
  lastReadSeq: number;
  at: string;
}
export interface RoomMember {
  user: Person;
  role: MemberRole;
}
export interface RoomDetail {
  id: string;
  name: string;
  kind: RoomKind;
  myRole: MemberRole | null;
  lastReadSeq: number;
  members: Person[];
  online: Person[];
  memberRoles: RoomMember[];
  readBy: ReadReceipt[];
}
/** A room as the room list shows it: the caller's counts and the newest visible message. */
export interface InboxRoom {
  id: string;
  name: string;
  kind: RoomKind;
  createdAt: string;
  lastReadSeq: number;
  unread: number;
  mentions: number;
  lastMessage: { seq: number; body: string; createdAt: string; author: Person } | null;
}
export interface InboxPage {
  rooms: InboxRoom[];
  nextCursor: string | null;
  unreadTotal: number;
  mentionsTotal: number;
}
export type InboxEventKind = 'MESSAGE' | 'READ' | 'ADDED' | 'REMOVED' | 'UPDATED';
export interface InboxEvent {
  kind: InboxEventKind;
  room: InboxRoom;
  message: { seq: number; createdAt: string } | null;
}
export interface SearchHit {
  snippet: string;
  message: ChatMessage;
}
export interface SearchPage {
  hits: SearchHit[];
  nextCursor: string | null;
}
export interface MessagePage {
  messages: ChatMessage[];
  hasMore: boolean;
}

export const REGISTER = `mutation Register($username: String!, $password: String!, $displayName: String) {
  register(username: $username, password: $password, displayName: $displayName) { token expiresAt user { ${USER} } }
}`;
export const LOGIN = `mutation Login($username: String!, $password: String!) {
  login(username: $username, password: $password) { token expiresAt user { ${USER} } }
}`;
export const LOBBY = `query Lobby { rooms { id name kind lastSeq } users(online: true) { ${USER} } }`;
/** Everyone, to turn the usernames typed into a group's people into ids (the API has no look-up by name). */
export const EVERYONE = `query Everyone { users { ${USER} } }`;
export const ONLINE = `query Online { users(online: true) { ${USER} } }`;
export const JOIN_ROOM = `mutation JoinRoom($name: String!) { joinRoom(name: $name) { id name kind } }`;
export const CREATE_GROUP = `mutation CreateGroup($name: String!, $members: [ID!]!) { createGroup(name: $name, members: $members) { id name kind } }`;
export const OPEN_DIRECT = `mutation OpenDirectRoom($userId: ID!) { openDirectRoom(userId: $userId) { id name kind } }`;
const MEMBERS = `myRole members { ${USER} } memberRoles { role user { ${USER} } }`;
const READ_BY = `readBy { lastReadSeq at user { ${USER} } }`;
/** The room, its newest page, its pinned messages, and the reader's site role (who may pin). */
export const ROOM = `query Room($id: ID!, $limit: Int) {
  me { id role }
  room(id: $id) { id name kind lastReadSeq online { ${USER} } ${MEMBERS} ${READ_BY} }
  messages(room: $id, limit: $limit) { messages { ${ROOM_MESSAGE} } hasMore }
  pinnedMessages(room: $id) { ${PIN_ENTRY} }
}`;
export const ROOM_MEMBERS = `query RoomMembers($id: ID!) { room(id: $id) { name ${MEMBERS} } }`;
export const ROOM_READ_BY = `query RoomReadBy($id: ID!) { room(id: $id) { lastReadSeq ${READ_BY} } }`;
export const MARK_READ = `mutation MarkRead($room: ID!, $seq: Int!) { markRead(room: $room, seq: $seq) { id lastReadSeq } }`;
const ROOM_AFTER_CHANGE = `id ${MEMBERS}`;
export const ADD_MEMBER = `mutation AddMember($room: ID!, $userId: ID!) { addMember(room: $room, userId: $userId) { ${ROOM_AFTER_CHANGE} } }`;
export const REMOVE_MEMBER = `mutation RemoveMember($room: ID!, $userId: ID!) { removeMember(room: $room, userId: $userId) { ${ROOM_AFTER_CHANGE} } }`;
export const SET_MEMBER_ROLE = `mutation SetMemberRole($room: ID!, $userId: ID!, $role: MemberRole!) {
  setMemberRole(room: $room, userId: $userId, role: $role) { ${ROOM_AFTER_CHANGE} }
}`;
export const ROOM_ONLINE = `query RoomOnline($id: ID!) { room(id: $id) { online { ${USER} } } }`;
export const NEWEST = `query Newest($room: ID!, $limit: Int) { messages(room: $room, limit: $limit) { messages { ${ROOM_MESSAGE} } hasMore } }`;
/** One message by its seq (after seq - 1, limit 1): its current state. */
export const ONE_MESSAGE = `query OneMessage($room: ID!, $after: Int!) { messages(room: $room, after: $after, limit: 1) { messages { ${ROOM_MESSAGE} } hasMore } }`;
export const OLDER = `query Older($room: ID!, $before: Int!, $limit: Int) {
  messages(room: $room, before: $before, limit: $limit) { messages { ${ROOM_MESSAGE} } hasMore }
}`;
/** `parentId`: a reply in that root's thread. */
export const SEND = `mutation Send($room: ID!, $body: String!, $clientMsgId: String!, $parentId: ID) {
  sendMessage(room: $room, body: $body, clientMsgId: $clientMsgId, parentId: $parentId) { ${ROOM_MESSAGE} }
}`;
export const EDIT = `mutation Edit($id: ID!, $body: String!) { editMessage(id: $id, body: $body) { ${ROOM_MESSAGE} } }`;
export const DELETE = `mutation Delete($id: ID!) { deleteMessage(id: $id) { ${ROOM_MESSAGE} } }`;
export const THREAD = `query Thread($root: ID!, $after: Int, $limit: Int) {
  thread(root: $root, after: $after, limit: $limit) { messages { ${ROOM_MESSAGE} } hasMore }
}`;
export const REACT = `mutation React($id: ID!, $emoji: String!) { react(messageId: $id, emoji: $emoji) { id } }`;
export const UNREACT = `mutation Unreact($id: ID!, $emoji: String!) { unreact(messageId: $id, emoji: $emoji) { id } }`;
/** Newest pin first; the answers of pin and unpin are the message with `pinned` as it is now. */
export const PINNED = `query Pinned($room: ID!) { pinnedMessages(room: $room) { ${PIN_ENTRY} } }`;
export const PIN = `mutation Pin($id: ID!) { pinMessage(id: $id) { ${ROOM_MESSAGE} } }`;
export const UNPIN = `mutation Unpin($id: ID!) { unpinMessage(id: $id) { ${ROOM_MESSAGE} } }`;
export const SET_TYPING = `mutation SetTyping($room: ID!) { setTyping(room: $room) }`;

export const MESSAGE_ADDED = `subscription MessageAdded($room: ID!, $after: Int) { messageAdded(room: $room, after: $after) { ${ADDED_MESSAGE} } }`;
/** Edits, deletions, hides, pins, and reply-count and reaction changes (coalesced: the latest is exact). */
export const MESSAGE_UPDATED = `subscription MessageUpdated($room: ID!) { messageUpdated(room: $room) { ${ROOM_MESSAGE} } }`;
export const PRESENCE = `subscription Presence($room: ID!) { presenceChanged(room: $room) { online user { ${USER} } } }`;
export const TYPING = `subscription Typing($room: ID!) { typing(room: $room) { user { ${USER} } } }`;
export const READ_RECEIPTS = `subscription ReadReceipts($room: ID!) { readReceipts(room: $room) { lastReadSeq at user { ${USER} } } }`;

const INBOX_ROOM = `id name kind createdAt lastReadSeq unread mentions lastMessage { seq body createdAt author { ${USER} } }`;
export const INBOX = `query Inbox($after: String, $limit: Int) {
  inbox(after: $after, limit: $limit) { rooms { ${INBOX_ROOM} } nextCursor unreadTotal mentionsTotal }
}`;
export const INBOX_EVENTS = `subscription InboxEvents { inbox { kind room { ${INBOX_ROOM} } message { seq createdAt } } }`;

export const SEARCH = `query Search($query: String!, $room: ID, $after: String, $limit: Int) {
  search(query: $query, room: $room, after: $after, limit: $limit) { hits { snippet message { ${MESSAGE} } } nextCursor }
}`;
