/** The example operations GraphiQL opens with: one tab per step of a first session with the API. */
export interface ExampleTab {
  query: string;
  variables?: string;
}

const json = (v: unknown) => JSON.stringify(v, null, 2);

export const EXAMPLES: ExampleTab[] = [
  {
    query: `# Welcome to conversa's GraphQL API.
#
# 1. Run Register (or Login) with the ▶ button and pick the operation.
# 2. Copy the token into the Headers tab below: {"Authorization": "Bearer <token>"}
#    (signed in to the web client in this browser tab? It is filled in already).
#    Subscriptions use the same header as the WebSocket's connectionParams.
# 3. The other tabs join a room, send a message and subscribe to a room.

mutation Register($username: String!, $password: String!, $displayName: String) {
  register(username: $username, password: $password, displayName: $displayName) {
    token
    expiresAt
    user { id username displayName }
  }
}

mutation Login($username: String!, $password: String!) {
  login(username: $username, password: $password) {
    token
    expiresAt
  }
}

query Me {
  me { id username displayName role }
}
`,
    variables: json({ username: 'ada', password: 'correct horse battery', displayName: 'Ada' }),
  },
  {
    query: `# Joining creates the public room when it does not exist yet.
mutation JoinRoom($name: String!) {
  joinRoom(name: $name) { id name kind lastSeq }
}

query Rooms {
  rooms { id name kind lastSeq }
  users(online: true) { id displayName }
}

query History($room: ID!) {
  messages(room: $room, limit: 20) {
    hasMore
    messages { seq body status createdAt author { displayName } }
  }
}
`,
    variables: json({ name: 'general', room: 'general' }),
  },
  {
    query: `# Retry-safe: sending again with the same clientMsgId returns the same message.
mutation SendMessage($room: ID!, $body: String!, $clientMsgId: String!) {
  sendMessage(room: $room, body: $body, clientMsgId: $clientMsgId) {
    id
    seq
    body
    createdAt
    author { displayName }
  }
}
`,
    variables: json({ room: 'general', body: 'Hello from GraphiQL', clientMsgId: 'graphiql-1' }),
  },
  {
    query: `# Every new message of the room, live. With after: N, first the stored
# messages with seq > N, then live ones: each exactly once, in order.
subscription MessageAdded($room: ID!, $after: Int) {
  messageAdded(room: $room, after: $after) {
    seq
    body
    createdAt
    author { displayName }
  }
}

subscription Presence($room: ID!) {
  presenceChanged(room: $room) { online user { displayName } }
}
`,
    variables: json({ room: 'general' }),
  },
];
