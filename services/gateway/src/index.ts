export { createGateway, type GatewayService } from './gateway.js';
export { RoomHubs, RoomHub, type RoomSignalSource, type HistoryReader, type SlowConsumerPolicy } from './room-hub.js';
export { TokenService, PasswordHasher, type Principal } from '@conversa/auth';
