import type { AppContext } from '../app.js';
import { h, replace } from '../dom.js';
import { describeError } from '../lib/errors.js';
import {
  ADD_MEMBER,
  REMOVE_MEMBER,
  SET_MEMBER_ROLE,
  type MemberRole,
  type RoomMember,
} from '../queries.js';
import { avatar, findPeople, unknownPeople } from './lobby.js';

/** What the member list shows of a group: the caller's role and everyone's. */
export interface Membership {
  myRole: MemberRole | null;
  memberRoles: RoomMember[];
}

/** What the caller may do to `target`, as the server decides it (API-product.graphql). */
export function allowed(
  myRole: MemberRole | null,
  target: RoomMember,
  me: string,
): { remove: boolean; setRole: boolean } {
  const self = target.user.id === me;
  return {
    // OWNER or ADMIN; an ADMIN cannot remove the OWNER. Leaving is not removing oneself.
    remove: !self && (myRole === 'OWNER' || (myRole === 'ADMIN' && target.role !== 'OWNER')),
    // OWNER only, and never their own role (they hand over instead).
    setRole: !self && myRole === 'OWNER' && target.role !== 'OWNER',
  };
}

/**
 * A group's member list with roles, and the controls the caller's role allows: OWNER and
 * ADMINs add and remove people, the OWNER makes members ADMINs and back. `changed` gets the
 * group as the server answered a change, so the list shows it at once.
 */
export function membersPanel(
  ctx: AppContext,
  roomId: string,
  changed: (m: Membership) => void,
): { el: HTMLElement; render(m: Membership): void } {
  const me = ctx.session.user;
  const count = h('span', { class: 'count' });
  const list = h('ul', { class: 'people compact members', attrs: { 'aria-label': 'Members' } });
  const error = h('p', { class: 'form-error', attrs: { role: 'alert' } });
  const addInput = h('input', {
    id: 'add-people',
    name: 'people',
    placeholder: 'usernames',
    autocomplete: 'off',
  });
  const addButton = h('button', { type: 'submit', class: 'btn small' }, 'Add');
  const addForm = h(
    'form',
    {
      class: 'add-people',
      hidden: true,
      on: {
        submit: (ev) => {
          ev.preventDefault();
          void add();
        },
      },
    },
    h('label', { htmlFor: 'add-people' }, 'Add people'),
    h('div', { class: 'row' }, addInput, addButton),
  );
  const el = h(
    'section',
    { class: 'members-panel', attrs: { 'aria-labelledby': 'members-heading' } },
    h('h2', { id: 'members-heading' }, 'Members ', count),
    list,
    addForm,
    error,
  );

  let current: Membership = { myRole: null, memberRoles: [] };

  const act = async (
    button: HTMLButtonElement,
    query: string,
    variables: Record<string, unknown>,
    field: 'addMember' | 'removeMember' | 'setMemberRole',
  ) => {
    button.disabled = true;
    error.textContent = '';
    try {
      const d = await ctx.api.request<Record<typeof field, Membership>>(query, variables);
      changed(d[field]);
    } catch (e) {
      error.textContent = describeError(e);
      button.disabled = false;
    }
  };

  const add = async () => {
    addButton.disabled = true;
    error.textContent = '';
    try {
      const { found, unknown } = await findPeople(ctx, addInput.value);
      if (unknown.length) {
        error.textContent = unknownPeople(unknown);
        return;
      }
      let last: Membership | null = null;
      for (const p of found) {
        const { addMember } = await ctx.api.request<{ addMember: Membership }>(ADD_MEMBER, {
          room: roomId,
          userId: p.id,
        });
        last = addMember;
      }
      addInput.value = '';
      if (last) changed(last);
    } catch (e) {
      error.textContent = describeError(e);
    } finally {
      addButton.disabled = false;
    }
  };

  const item = (m: RoomMember): HTMLLIElement => {
    const can = allowed(current.myRole, m, me.id);
    const name = m.user.displayName;
    const actions = h('div', { class: 'member-actions' });
    if (can.setRole) {
      const to: MemberRole = m.role === 'ADMIN' ? 'MEMBER' : 'ADMIN';
      const b = h(
        'button',
        {
          type: 'button',
          class: 'btn tiny',
          attrs: { 'aria-label': `Make ${name} ${to === 'ADMIN' ? 'an admin' : 'a member'}` },
        },
        to === 'ADMIN' ? 'Make admin' : 'Make member',
      );
      b.addEventListener(
        'click',
        () =>
          void act(
            b,
            SET_MEMBER_ROLE,
            { room: roomId, userId: m.user.id, role: to },
            'setMemberRole',
          ),
      );
      actions.append(b);
    }
    if (can.remove) {
      const b = h(
        'button',
        { type: 'button', class: 'btn tiny', attrs: { 'aria-label': `Remove ${name}` } },
        'Remove',
      );
      b.addEventListener(
        'click',
        () => void act(b, REMOVE_MEMBER, { room: roomId, userId: m.user.id }, 'removeMember'),
      );
      actions.append(b);
    }
    return h(
      'li',
      { class: 'person member', attrs: { 'data-user': m.user.id } },
      avatar(m.user),
      h(
        'span',
        { class: 'person-name' },
        name,
        m.user.id === me.id ? h('span', { class: 'handle' }, ' (you)') : null,
      ),
      h('span', { class: `role role-${m.role.toLowerCase()}` }, m.role),
      actions.childElementCount ? actions : null,
    );
  };

  return {
    el,
    render(m: Membership) {
      current = m;
      count.textContent = String(m.memberRoles.length);
      addForm.hidden = m.myRole !== 'OWNER' && m.myRole !== 'ADMIN';
      replace(list, ...m.memberRoles.map(item));
    },
  };
}
