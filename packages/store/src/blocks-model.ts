import { Schema } from 'mongoose';

/** One person blocking another (API-product.graphql blockUser): a point look-up by `_id`. */
export interface BlockDoc {
  /** `${blocker}/${blocked}` */
  _id: string;
  blocker: string;
  blocked: string;
  at: Date;
}

export const blockSchema = new Schema<BlockDoc>(
  {
    _id: { type: String, required: true },
    blocker: { type: String, required: true, index: true },
    blocked: { type: String, required: true },
    at: { type: Date, required: true },
  },
  { versionKey: false, _id: false, minimize: false, collection: 'blocks' },
);
