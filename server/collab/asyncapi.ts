// The collaboration protocol as an AsyncAPI 3.0 document, generated from the message schemas
// (contract/collab-messages.ts) and the socket's query (contract/collab.ts WsQuery), so that it
// cannot drift from what the server checks and sends. Served at /asyncapi.json, beside
// /openapi.json (the reference publishes its tmi-asyncapi.yml in its repository only).
import type { TSchema } from 'typebox';
import type { Config } from '../config.ts';
import { plain } from '../http/openapi.ts';
import { WsQuery } from '../../contract/collab.ts';
import { ClientMessage, NotificationMessage, ServerMessage } from '../../contract/collab-messages.ts';

type MessageSchema = TSchema & { description?: string; properties: { message_type: { const: string } } };

const pascal = (type: string) => type.replace(/(^|_)([a-z])/g, (_m, _sep, c: string) => c.toUpperCase());

interface Message {
  name: string;
  schema: MessageSchema;
}

/** Component names: by message type; a type that goes both ways gets Request (from clients) / Event (from the server). */
function named(union: TSchema, both: Set<string>, suffix: string): Message[] {
  return ((union as { anyOf: MessageSchema[] }).anyOf).map((schema) => {
    const type = schema.properties.message_type.const;
    return { name: pascal(type) + (both.has(type) ? suffix : ''), schema };
  });
}

export function asyncApiDocument(config: Pick<Config, 'version' | 'server'>) {
  const typesOf = (u: TSchema) => new Set((u as { anyOf: MessageSchema[] }).anyOf.map((s) => s.properties.message_type.const));
  const clientTypes = typesOf(ClientMessage);
  const both = new Set([...typesOf(ServerMessage)].filter((t) => clientTypes.has(t)));
  const sent = named(ClientMessage, both, 'Request');
  const received = named(ServerMessage, both, 'Event');
  const notifications = named(NotificationMessage, new Set(), '');

  const component = (m: Message) => [m.name, { name: m.schema.properties.message_type.const, summary: m.schema.description, contentType: 'application/json', payload: plain(m.schema) }] as const;
  const channelMessages = (list: Message[]) => Object.fromEntries(list.map((m) => [m.name, { $ref: `#/components/messages/${m.name}` }]));
  const refs = (channel: string, list: Message[]) => list.map((m) => ({ $ref: `#/channels/${channel}/messages/${m.name}` }));

  const base = new URL(config.server.baseUrl);
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'TMI (Threat Modeling Improved) collaboration WebSocket API',
      version: config.version,
      description:
        "Live collaboration on a diagram, and notifications of threat-model changes. Every frame is one JSON object (UTF-8 text) with a message_type. Open a diagram socket with a single-use ticket from GET /ws/ticket (see /openapi.json); the session's REST side is /threat_models/{threat_model_id}/diagrams/{diagram_id}/collaborate. Client messages may carry fields beyond their schema (ignored); a malformed one is answered with an error whose `error` is validation_error (or, for an operation, with operation_rejected), and the session goes on.",
    },
    defaultContentType: 'application/json',
    servers: {
      tmi: {
        host: base.host,
        protocol: base.protocol === 'https:' ? 'wss' : 'ws',
        ...(base.pathname !== '/' ? { pathname: base.pathname } : {}),
      },
    },
    channels: {
      diagram: {
        address: '/threat_models/{threat_model_id}/diagrams/{diagram_id}/ws',
        title: 'Diagram collaboration',
        parameters: {
          threat_model_id: { description: 'The threat model (UUID)' },
          diagram_id: { description: 'The diagram (UUID)' },
        },
        messages: { ...channelMessages(sent), ...channelMessages(received) },
        bindings: { ws: { method: 'GET', query: plain(WsQuery) } },
      },
      notifications: {
        address: '/ws/notifications',
        title: 'Threat-model notifications',
        messages: channelMessages(notifications),
      },
    },
    operations: {
      sendDiagramMessage: {
        action: 'send',
        channel: { $ref: '#/channels/diagram' },
        summary: 'What a client sends on the diagram socket',
        security: [{ $ref: '#/components/securitySchemes/ticket' }],
        messages: refs('diagram', sent),
      },
      receiveDiagramMessage: {
        action: 'receive',
        channel: { $ref: '#/channels/diagram' },
        summary: 'What the server sends on the diagram socket',
        security: [{ $ref: '#/components/securitySchemes/ticket' }],
        messages: refs('diagram', received),
      },
      receiveNotification: {
        action: 'receive',
        channel: { $ref: '#/channels/notifications' },
        summary: 'Events of threat models the user can read, and a heartbeat',
        security: [{ $ref: '#/components/securitySchemes/bearerAuth' }, { $ref: '#/components/securitySchemes/cookieAuth' }],
        messages: refs('notifications', notifications),
      },
    },
    components: {
      messages: Object.fromEntries([...sent, ...received, ...notifications].map(component)),
      securitySchemes: {
        ticket: { type: 'httpApiKey', in: 'query', name: 'ticket', description: 'Single use, from GET /ws/ticket?session_id=…' },
        bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        cookieAuth: { type: 'httpApiKey', in: 'cookie', name: 'tmi_access_token' },
      },
    },
  };
}
