import type { ChatMessage, Person } from './lib/messages.js';

/** The GraphQL documents the web client sends (see ../../shared/API.graphql). */
const USER = 'id username displayName';
const MESSAGE = `id room seq body status clientMsgId createdAt editedAt author { ${USER} }`;

export interface AuthPayload {
  token: string;
  expiresAt: string;
  user: Person;
}
export interface RoomSummary {
  id: string;
  name: string;
  kind: 'PUBLIC' | 'DIRECT';
  lastSeq: number;
  members: { id: string }[];
}
export interface RoomDetail {
  id: string;
  name: string;
  kind: 'PUBLIC' | 'DIRECT';
  members: Person[];
  online: Person[];
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
export const LOBBY = `query Lobby { rooms { id name kind lastSeq members { id } } users(online: true) { ${USER} } }`;
export const ONLINE = `query Online { users(online: true) { ${USER} } }`;
export const JOIN_ROOM = `mutation JoinRoom($name: String!) { joinRoom(name: $name) { id name kind } }`;
export const OPEN_DIRECT = `mutation OpenDirectRoom($userId: ID!) { openDirectRoom(userId: $userId) { id name kind } }`;
export const ROOM = `query Room($id: ID!, $limit: Int) {
  room(id: $id) { id name kind members { ${USER} } online { ${USER} } }
  messages(room: $id, limit: $limit) { messages { ${MESSAGE} } hasMore }
}`;
export const ROOM_ONLINE = `query RoomOnline($id: ID!) { room(id: $id) { online { ${USER} } } }`;
export const NEWEST = `query Newest($room: ID!, $limit: Int) { messages(room: $room, limit: $limit) { messages { ${MESSAGE} } hasMore } }`;
export const OLDER = `query Older($room: ID!, $before: Int!, $limit: Int) {
  messages(room: $room, before: $before, limit: $limit) { messages { ${MESSAGE} } hasMore }
}`;
export const SEND = `mutation Send($room: ID!, $body: String!, $clientMsgId: String!) {
  sendMessage(room: $room, body: $body, clientMsgId: $clientMsgId) { ${MESSAGE} }
}`;
export const EDIT = `mutation Edit($id: ID!, $body: String!) { editMessage(id: $id, body: $body) { ${MESSAGE} } }`;
export const DELETE = `mutation Delete($id: ID!) { deleteMessage(id: $id) { ${MESSAGE} } }`;
export const SET_TYPING = `mutation SetTyping($room: ID!) { setTyping(room: $room) }`;

export const MESSAGE_ADDED = `subscription MessageAdded($room: ID!, $after: Int) { messageAdded(room: $room, after: $after) { ${MESSAGE} } }`;
export const MESSAGE_UPDATED = `subscription MessageUpdated($room: ID!) { messageUpdated(room: $room) { ${MESSAGE} } }`;
export const PRESENCE = `subscription Presence($room: ID!) { presenceChanged(room: $room) { online user { ${USER} } } }`;
export const TYPING = `subscription Typing($room: ID!) { typing(room: $room) { user { ${USER} } } }`;
